"""A line protocol pipetrace does not parse, for its tcp flows: PING n / +PONG n.

  turns.py server PORT DELAY_MS    answers each line after DELAY_MS; prints {"port": PORT} once listening
  turns.py client HOST PORT COUNT  sends COUNT lines on one connection, each after the last answer,
                                   in two writes (a burst); prints one JSON line per turn with
                                   duration_ns from before its first write to after the answer's read
"""
import json
import socket
import sys
import time

if sys.argv[1] == "server":
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", int(sys.argv[2])))
    listener.listen()
    print(json.dumps({"port": int(sys.argv[2])}), flush=True)
    delay = int(sys.argv[3]) / 1000
    while True:
        conn, _ = listener.accept()
        reader = conn.makefile("rb")
        for line in reader:
            time.sleep(delay)
            conn.sendall(b"+PONG " + line[5:])
        conn.close()
else:
    conn = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = conn.makefile("rb")
    for n in range(int(sys.argv[4])):
        start = time.monotonic_ns()
        conn.sendall(b"PING ")
        conn.sendall(b"%d\n" % n)
        answer = reader.readline()
        end = time.monotonic_ns()
        print(json.dumps({"turn": n, "answer": answer.decode().strip(), "duration_ns": end - start}), flush=True)
    conn.close()
