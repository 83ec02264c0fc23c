"""What callers can do with complaints, one function per use case, each in the unit of work it is given."""
