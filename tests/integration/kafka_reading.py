"""Reading a topic back in tests without a consumer group (no group join, so no rebalance delay)."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def read_topic(bootstrap: str, topic: str, at_least: int = 0, timeout: float = 15.0) -> list[ConsumerRecord]:
    """Every record of `topic` once it holds at least `at_least`, read up to each partition's high watermark.

    The end comes from the fetch responses' high watermark, not from `end_offsets()`: Tansu answers
    ListOffsets(latest) with the last batch's base offset + 1 (see docs/tansu.md).
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions = [TopicPartition(topic, p) for p in _partitions(consumer, topic, deadline)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []
        while True:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if len(records) >= at_least and all(_caught_up(consumer, p) for p in partitions):
                return records
            assert time.monotonic() < deadline, f"{topic}: {len(records)} records, expected {at_least}"
    finally:
        consumer.close()


def _caught_up(consumer: KafkaConsumer, partition: TopicPartition) -> bool:
    highwater = consumer.highwater(partition)
    return highwater is not None and consumer.position(partition) >= highwater


def _partitions(consumer: KafkaConsumer, topic: str, deadline: float) -> list[int]:
    while True:
        consumer.topics()  # refreshes the metadata: partitions_for_topic alone reads a cold cache
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return sorted(partitions)
        assert time.monotonic() < deadline, f"topic {topic} does not exist"
        time.sleep(0.1)
