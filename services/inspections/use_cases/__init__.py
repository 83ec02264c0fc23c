"""What callers can do with inspectors, plans and inspections, one function per use case, each in the unit
of work it is given."""
