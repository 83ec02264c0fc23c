"""What callers can do with the registry, one function per use case, each in the unit of work it is given."""
