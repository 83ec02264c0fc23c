"""The complaints service's outside world: SQL tables and repository, the SQL unit of work, proto mapping."""
