"""Scoring's rules and values, pure Python: grades, the features of an enterprise's history, the scorecard,
the grading policy and grading itself, and the decisions regulators take on grades (appeals, credit
repairs). No gRPC, SQL or Kafka (generated protobuf messages and enums are allowed)."""
