"""A pika publisher (confirm mode) or consumer (manual acks) that reports
what it did and its own timings, one JSON line per message.

publish HOST PORT QUEUE COUNT [plain]: declares QUEUE, turns confirms on, and
publishes COUNT messages of 6000 bytes (message ids m0, m1, ...) one at a time, each
waiting for the broker's confirm; reports the time each publish took. With
"plain": no confirms and no message ids (the bodies, "job 0", "job 1", ..., differ).

consume HOST PORT QUEUE HANDLE DELAY: consumes HANDLE deliveries with
manual acks, sleeping DELAY seconds on each before answering it: m1 is
nacked with requeue the first time (so it comes back redelivered), m2 is
rejected without requeue, the rest are acked; reports each delivery's
processing time (callback entry to its answer sent) and the body's first
word and number. Then it cancels, takes
one message with basic.get (no-ack) and declares a missing queue passively
(the broker closes the channel with 404). With MARKS (a directory), it
creates MARKS/ready once it consumes and MARKS/done once it has handled
HANDLE deliveries: a test attaches its probe in between.
"""
import json
import os
import sys
import time

import pika


def say(**fields):
    print(json.dumps(fields), flush=True)


def connect(host, port):
    return pika.BlockingConnection(pika.ConnectionParameters(host=host, port=int(port), heartbeat=0))


def publish(host, port, queue, count, plain=None):
    connection = connect(host, port)
    channel = connection.channel()
    channel.queue_declare(queue=queue)
    if not plain:
        channel.confirm_delivery()
    for n in range(int(count)):
        started = time.monotonic()
        # Larger than the probe's payload cap (4096): the end of each message goes uncaptured.
        properties = None if plain else pika.BasicProperties(message_id=f"m{n}")
        channel.basic_publish(exchange="", routing_key=queue, body=f"job {n}".ljust(6000).encode(), properties=properties)
        say(event="published", id=None if plain else f"m{n}", seconds=time.monotonic() - started)
    connection.close()


def mark(marks, name):
    if marks:
        open(os.path.join(marks, name), "w").close()


def consume(host, port, queue, handle, delay, marks=None):
    connection = connect(host, port)
    channel = connection.channel()
    channel.queue_declare(queue=queue)
    channel.basic_qos(prefetch_count=1)
    handled = 0

    def on_message(channel, method, properties, body):
        nonlocal handled
        started = time.monotonic()
        time.sleep(float(delay))
        if properties.message_id == "m1" and not method.redelivered:
            action = "nack"
            channel.basic_nack(method.delivery_tag, requeue=True)
        elif properties.message_id == "m2":
            action = "reject"
            channel.basic_reject(method.delivery_tag, requeue=False)
        else:
            action = "ack"
            channel.basic_ack(method.delivery_tag)
        say(event="delivered", id=properties.message_id, tag=method.delivery_tag, redelivered=method.redelivered,
            action=action, seconds=time.monotonic() - started, body=" ".join(body.decode().split()[:2]))
        handled += 1
        if handled == int(handle):
            channel.stop_consuming()

    channel.basic_consume(queue, on_message)
    mark(marks, "ready")
    channel.start_consuming()
    mark(marks, "done")
    method, properties, body = channel.basic_get(queue, auto_ack=True)
    say(event="got", id=properties.message_id if method else None)
    try:
        channel.queue_declare(queue="missing-" + queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as closed:
        say(event="closed", code=closed.reply_code)
    connection.close()


if __name__ == "__main__":
    {"publish": publish, "consume": consume}[sys.argv[1]](*sys.argv[2:])
