"""Topic conventions of the platform: each service declares its own topic in its manifest; this module
derives the dead-letter topic of any of them."""

from __future__ import annotations

# Partitions for topics the local stack creates; production sizes them in infra/.
DEFAULT_PARTITIONS = 3


def dead_letter(topic: str) -> str:
    """Where undecodable or invalid messages of `topic` go, with the error in a header."""
    return f"{topic}.dlt"
