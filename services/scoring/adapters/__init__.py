"""Scoring's outside world: SQL tables and repositories, the SQL unit of work, protobuf mapping, the policy
file and the model store."""
