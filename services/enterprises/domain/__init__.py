"""The registry's rules and values: what a valid registration, instrument, verification and declaration is.

Pure: no gRPC, SQL or Kafka (the enums are those of `integrity.enterprises.v1`, the one source of truth).
"""
