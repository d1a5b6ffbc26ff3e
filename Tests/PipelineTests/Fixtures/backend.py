"""A backend for the pipeline tests: delays /slow by a known time.

  backend.py PORT DELAY_MS

GET /slow sleeps DELAY_MS before answering, /fast answers at once,
/big?bytes=N answers N bytes. HTTP/1.1 with keep-alive and Content-Length.
Prints {"ready": true} once listening.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT = int(sys.argv[1])
DELAY = int(sys.argv[2]) / 1000.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle holds the body for the peer's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/slow":
            time.sleep(DELAY)
            body = b"slow\n"
        elif url.path == "/big":
            n = int(parse_qs(url.query).get("bytes", ["1000000"])[0])
            body = (b"0123456789abcdef" * (n // 16 + 1))[:n]
        else:
            body = b"fast\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
print(json.dumps({"ready": True}), flush=True)
server.serve_forever()
