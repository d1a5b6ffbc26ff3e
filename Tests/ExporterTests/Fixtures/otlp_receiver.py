"""A stand-in OTLP/HTTP receiver for the tests:
`otlp_receiver.py PORT DIR [CERT KEY [CLIENT_CA]]` listens on 127.0.0.1:PORT
(https with CERT and KEY; requiring a client certificate signed by
CLIENT_CA when given) and stores each POST body as
DIR/<n>-<traces|logs>.bin (n counts from 1 across restarts on the same DIR),
gunzipped with Python's gzip when its Content-Encoding is gzip, with its
Content-Type in DIR/<n>-<signal>.type and Content-Encoding in
DIR/<n>-<signal>.encoding; answers 200 with an empty protobuf response, as
an OpenTelemetry collector does, or 400 for a body that does not gunzip."""
import gzip
import http.server
import os
import ssl
import sys

port, directory = int(sys.argv[1]), sys.argv[2]
os.makedirs(directory, exist_ok=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as error:
                self.send_error(400, "bad gzip body: %s" % error)
                return
        elif encoding:
            self.send_error(415, "unsupported Content-Encoding " + encoding)
            return
        signal = self.path.rstrip("/").rsplit("/", 1)[-1]
        n = len([f for f in os.listdir(directory) if f.endswith(".bin")]) + 1
        stem = os.path.join(directory, "%06d-%s" % (n, signal))
        with open(stem + ".type", "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        with open(stem + ".encoding", "w") as f:
            f.write(encoding)
        # Written under a temporary name and renamed: a reader never sees half a body.
        temporary = os.path.join(directory, ".incoming")
        with open(temporary, "wb") as f:
            f.write(body)
        os.rename(temporary, stem + ".bin")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", port), Handler)
if len(sys.argv) > 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    if len(sys.argv) > 5:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(sys.argv[5])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
