"""The registry's outside world: SQL tables and repositories, the SQL unit of work, proto mapping."""
