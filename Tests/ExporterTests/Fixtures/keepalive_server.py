"""An HTTP/1.1 server for the keep-alive tests:
`keepalive_server.py PORT LOG MODE [N]` listens on 127.0.0.1:PORT and
appends one line per POST to LOG: the client's port and the body. MODE:
- `keep`: answers 200 with a Content-Length, keeping the connection;
- `close-after`: as `keep`, but closes each connection without a word
  after its Nth response (as a server closes an idle kept-alive connection);
- `connection-close`: answers with `Connection: close` and closes;
- `cut`: to the Nth POST of the run sends only its status line, then
  closes (the other POSTs as `keep`);
- `chunked`: answers with a chunked body "ok", keeping the connection."""
import http.server
import sys
import threading

port, log, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
lock = threading.Lock()
posts = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            posts[0] += 1
            count = posts[0]
            with open(log, "a") as f:
                f.write("%d %s\n" % (self.client_address[1], body.decode()))
        self.answered = getattr(self, "answered", 0) + 1
        if mode == "cut" and count == n:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"2\r\nok\r\n0\r\n\r\n")
            return
        if mode == "connection-close":
            self.send_header("Connection", "close")
        self.send_header("Content-Length", "0")
        self.end_headers()
        if mode == "close-after" and self.answered >= n:
            self.close_connection = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"up")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
