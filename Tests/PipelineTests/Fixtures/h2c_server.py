"""An HTTP/2 server that accepts `Upgrade: h2c` (hyper-h2), as nginx does not.

  h2c_server.py PORT

Answers every request, the upgrading HTTP/1.1 one (on stream 1) and those
sent over HTTP/2 after it, with 200 and the path as body. Prints
{"port": PORT} once listening.
"""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", int(sys.argv[1])))
listener.listen()
print(json.dumps({"port": int(sys.argv[1])}), flush=True)


def answer(conn, stream, path):
    body = path.encode()
    conn.send_headers(stream, [(":status", "200"), ("content-length", str(len(body)))])
    conn.send_data(stream, body, end_stream=True)


while True:
    sock, _ = listener.accept()
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(65536)
    head, _, rest = head.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_upgrade_connection(headers["http2-settings"])
    answer(conn, 1, path)
    sock.sendall(conn.data_to_send())
    data = rest
    while True:
        if data:
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    answer(conn, event.stream_id, dict(event.headers)[b":path"].decode())
            sock.sendall(conn.data_to_send())
        data = sock.recv(65536)
        if not data:
            break
    sock.close()
