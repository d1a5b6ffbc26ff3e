"""A Kafka client for pipetrace's judges, on kafka-python.

  kafka_client.py produce BOOTSTRAP TOPIC COUNT [--old]   create TOPIC (2 partitions), send COUNT messages
  kafka_client.py consume BOOTSTRAP TOPIC COUNT [--group G] [--old]   read COUNT messages, commit (with a group)

Prints one JSON line per message sent or read (partition, offset; a read
one's timestamp, the producer's create time in ms) and, at
the end, the client's own view of each partition: end offset, position,
committed offset and lag (end offset - position). --old speaks the older
API versions tshark 4.0 decodes (api_version 2.1.0, no idempotence).
"""
import json, sys, time
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

mode, bootstrap, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rest = sys.argv[5:]
group = rest[rest.index("--group") + 1] if "--group" in rest else None
common = {"bootstrap_servers": bootstrap, "client_id": f"pt-{mode}"}
if "--old" in rest:
    common["api_version"] = (2, 1, 0)

def emit(**fields):
    print(json.dumps(fields), flush=True)

if mode == "produce":
    admin = KafkaAdminClient(**common)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    extra = {"enable_idempotence": False} if "--old" in rest else {}
    producer = KafkaProducer(acks="all", linger_ms=0, **common, **extra)
    for n in range(count):
        meta = producer.send(topic, key=str(n % 2).encode(), value=b"m" * 100, partition=n % 2).get(timeout=10)
        emit(event="sent", partition=meta.partition, offset=meta.offset)
    producer.close()
else:
    consumer = KafkaConsumer(group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                             fetch_max_wait_ms=300, session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_interval_ms=3000, **common)
    partitions = [TopicPartition(topic, p) for p in (0, 1)]
    if group:
        consumer.subscribe([topic])
    else:
        consumer.assign(partitions)
    ends = consumer.end_offsets(partitions)
    for tp in partitions:
        emit(event="lag", phase="start", partition=tp.partition, end=ends[tp], position=consumer.position(tp),
             lag=ends[tp] - consumer.position(tp)) if not group else None
    got, deadline = 0, time.time() + 30
    while got < count and time.time() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                got += 1
                emit(event="read", partition=r.partition, offset=r.offset, timestamp=r.timestamp)
    consumer.poll(timeout_ms=500)  # one more fetch, from the final position
    if group:
        consumer.commit()
    ends = consumer.end_offsets(partitions)
    for tp in partitions:
        position = consumer.position(tp)
        committed = consumer.committed(tp) if group else None
        emit(event="lag", phase="end", partition=tp.partition, end=ends[tp], position=position, committed=committed,
             lag=ends[tp] - position)
    consumer.close()
