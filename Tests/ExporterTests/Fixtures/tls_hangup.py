"""An https server that hangs up: `tls_hangup.py PORT CERT KEY` accepts on
127.0.0.1:PORT, completes each TLS handshake, then closes the connection
without reading the request. Prints "ready" once listening."""
import socket
import ssl
import sys

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    connection, _ = listener.accept()
    try:
        with context.wrap_socket(connection, server_side=True):
            pass
    except (OSError, ssl.SSLError):
        connection.close()
