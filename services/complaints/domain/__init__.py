"""The complaints domain: what a valid complaint is, its workflow and its deadlines.

Pure: no gRPC, SQL or Kafka.
"""
