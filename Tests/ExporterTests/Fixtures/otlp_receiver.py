"""A stand-in OTLP/HTTP receiver for the tests: `otlp_receiver.py PORT DIR`
listens on 127.0.0.1:PORT and stores each POST body as
DIR/<n>-<traces|logs>.bin (n counts from 1 across restarts on the same DIR)
with its Content-Type in DIR/<n>-<signal>.type; answers 200 with an empty
protobuf response, as an OpenTelemetry collector does."""
import http.server
import os
import sys

port, directory = int(sys.argv[1]), sys.argv[2]
os.makedirs(directory, exist_ok=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        signal = self.path.rstrip("/").rsplit("/", 1)[-1]
        n = len([f for f in os.listdir(directory) if f.endswith(".bin")]) + 1
        with open(os.path.join(directory, "%06d-%s.type" % (n, signal)), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        # Written under a temporary name and renamed: a reader never sees half a body.
        temporary = os.path.join(directory, ".incoming")
        with open(temporary, "wb") as f:
            f.write(body)
        os.rename(temporary, os.path.join(directory, "%06d-%s.bin" % (n, signal)))
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


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
