"""The inspections domain: inspectors, plan requests and the 双随机 draw, inspections with their results
and lifecycle, publication dates, and the local copy of other services' facts.

Pure: no gRPC, SQL or Kafka.
"""
