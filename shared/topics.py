"""Kafka topic names: one per producing service, plus a dead-letter topic for each."""

from __future__ import annotations

ENTERPRISES = "integrity.enterprises.v1"
COMPLAINTS = "integrity.complaints.v1"
INSPECTIONS = "integrity.inspections.v1"
SCORING = "integrity.scoring.v1"

ALL = (ENTERPRISES, COMPLAINTS, INSPECTIONS, SCORING)
# Partitions for topics the local stack creates; production sizes them in infra/.
DEFAULT_PARTITIONS = 3


def dead_letter(topic: str) -> str:
    """Where undecodable or invalid messages of `topic` go, with the error in a header."""
    return f"{topic}.dlt"
