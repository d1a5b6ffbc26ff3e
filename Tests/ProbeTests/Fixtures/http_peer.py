#!/usr/bin/env python3
"""A real HTTP/1.1 server and client whose socket I/O uses exactly the
syscalls a test asks for, so the probe's view of each syscall family can be
checked byte for byte. Prints one JSON line per process with what it did.

  http_peer.py server PORT MODE BODY_BYTES [BIND]   serve one connection, one request
  http_peer.py client HOST PORT MODE [WAIT]   send one request, read the response; with WAIT (a
                                             path), connect first and send once that file exists
  http_peer.py files DIR                     only file, pipe and UDP I/O (no TCP)
  http_peer.py reset-server PORT             accept, then close with the request unread (sends RST)
  http_peer.py reset-client HOST PORT        send a request, expect the connection reset

MODE: plain (write/read), vector (writev/readv), msg (sendmsg/recvmsg),
      mmsg (sendmmsg/recvmmsg: two messages of two iovecs each, through libc),
      sendfile (server body through sendfile(2)).
PT_PEER_LINGER=SECONDS in the environment: the client stays that long after its exchange.
"""
import ctypes, json, os, socket, sys, tempfile, time


class IOVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(IOVec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t), ("msg_flags", ctypes.c_int)]


class MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", MsgHdr), ("msg_len", ctypes.c_uint)]


LIBC = ctypes.CDLL(None, use_errno=True)
MSG_WAITFORONE = 0x10000


def mmsg_vector(buffers_per_message):
    """An mmsghdr array over ctypes buffers: one message per list of buffers."""
    messages = (MMsgHdr * len(buffers_per_message))()
    keep = []
    for m, buffers in enumerate(buffers_per_message):
        iov = (IOVec * len(buffers))()
        for i, b in enumerate(buffers):
            iov[i].iov_base = ctypes.addressof(b)
            iov[i].iov_len = ctypes.sizeof(b)
        keep.append(iov)
        messages[m].msg_hdr.msg_iov = iov
        messages[m].msg_hdr.msg_iovlen = len(buffers)
    return messages, keep


def mmsg_call(name, fd, messages, flags):
    n = getattr(LIBC, name)(fd, messages, len(messages), flags, *([None] if name == "recvmmsg" else []))
    if n < 0:
        raise OSError(ctypes.get_errno(), name)
    return n


def send_mmsg(fd, data):
    """Sends data as two messages of two iovecs each; returns the bytes sent."""
    q = max(1, len(data) // 4)
    pieces = [data[:q], data[q:2 * q], data[2 * q:3 * q], data[3 * q:]]
    buffers = [ctypes.create_string_buffer(p, len(p)) for p in pieces]
    messages, _keep = mmsg_vector([buffers[:2], buffers[2:]])
    n = mmsg_call("sendmmsg", fd, messages, 0)
    return sum(messages[i].msg_len for i in range(n))


def recv_mmsg(fd):
    """Reads into two messages of two iovecs each (the second only if data waits)."""
    buffers = [ctypes.create_string_buffer(n) for n in (100, 8000, 100, 8000)]
    messages, _keep = mmsg_vector([buffers[:2], buffers[2:]])
    n = mmsg_call("recvmmsg", fd, messages, MSG_WAITFORONE)
    out = b""
    for m in range(n):
        left = messages[m].msg_len
        for b in buffers[2 * m:2 * m + 2]:
            take = min(left, ctypes.sizeof(b))
            out += b.raw[:take]
            left -= take
    return out


def body(n):
    chunk = b"".join(b"pipetrace-line-%06d\n" % i for i in range(1 + n // 20))
    return chunk[:n]


def comm():
    with open("/proc/self/comm") as f:
        return f.read().strip()


def emit(**fields):
    fields.update(pid=os.getpid(), comm=comm())
    print(json.dumps(fields), flush=True)


def small_hex(data):
    """The bytes, as hex, when they are small enough to compare in a test."""
    return data.hex() if len(data) <= 65536 else None


def read_some(sock, mode):
    fd = sock.fileno()
    if mode == "vector":
        a, b = bytearray(100), bytearray(8000)
        n = os.readv(fd, [a, b])
        return bytes((a + b)[:n])
    if mode == "msg":
        data, _, _, _ = sock.recvmsg(65536)
        return data
    if mode == "mmsg":
        return recv_mmsg(fd)
    return os.read(fd, 65536)


def write_all(sock, mode, parts, file_body=None):
    fd = sock.fileno()
    if mode == "vector":
        left = b"".join(parts)
        while left:
            n = os.writev(fd, [left[: len(left) // 2], left[len(left) // 2:]])
            left = left[n:]
    elif mode == "msg":
        left = b"".join(parts)
        while left:
            n = sock.sendmsg([left[:7], left[7:]])
            left = left[n:]
    elif mode == "mmsg":
        left = b"".join(parts)
        while left:
            left = left[send_mmsg(fd, left):]
    else:
        left = b"".join(parts)
        while left:
            left = left[os.write(fd, left):]
    if file_body is not None:
        with tempfile.TemporaryFile() as f:
            f.write(file_body)
            f.flush()
            offset = 0
            while offset < len(file_body):
                offset += os.sendfile(fd, f.fileno(), offset, len(file_body) - offset)


def read_request(sock, mode):
    data = b""
    while b"\r\n\r\n" not in data:
        got = read_some(sock, mode)
        if not got:
            break
        data += got
    return data


def server(port, mode, nbytes, bind="0.0.0.0"):
    listener = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((bind, port))
    listener.listen(8)
    emit(role="server", ready=True)
    conn, peer = listener.accept()
    request = read_request(conn, mode)
    payload = body(nbytes)
    header = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % nbytes
    if mode == "sendfile":
        write_all(conn, "plain", [header], file_body=payload)
    else:
        write_all(conn, mode, [header, payload])
    # Wait for the client to close, so every byte is read before we exit.
    while conn.recv(65536):
        pass
    conn.close()
    emit(role="server", request=request.hex(), response=small_hex(header + payload),
         response_len=len(header) + nbytes, peer=list(peer))


def client(host, port, mode, wait_for=None):
    sock = socket.create_connection((host, port))
    for _ in range(3000):
        if wait_for is None or os.path.exists(wait_for):
            break
        time.sleep(0.01)
    request = (b"GET /metrics?mode=%s HTTP/1.1\r\nHost: %s:%d\r\n"
               b"User-Agent: pipetrace-test\r\nAccept: */*\r\n\r\n") % (mode.encode(), host.encode(), port)
    write_all(sock, "plain" if mode == "sendfile" else mode, [request])
    response = b""
    while b"\r\n\r\n" not in response:
        response += read_some(sock, "plain" if mode == "sendfile" else mode)
    head, _, rest = response.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < length:
        got = read_some(sock, "plain" if mode == "sendfile" else mode)
        if not got:
            break
        rest += got
        response += got
    local = sock.getsockname()
    sock.close()
    emit(role="client", request=request.hex(), response=small_hex(response),
         response_len=len(response), local=list(local))
    time.sleep(float(os.environ.get("PT_PEER_LINGER", "0")))


def files(directory):
    path = os.path.join(directory, "pipetrace-files-test")
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
    os.write(fd, b"GET /not-a-socket HTTP/1.1\r\n\r\n" * 100)
    os.writev(fd, [b"a" * 100, b"b" * 100])
    os.lseek(fd, 0, 0)
    os.read(fd, 4096)
    os.close(fd)
    os.unlink(path)
    r, w = os.pipe()
    os.write(w, b"GET /pipe HTTP/1.1\r\n\r\n")
    os.read(r, 100)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.sendto(b"GET /udp HTTP/1.1\r\n\r\n", udp.getsockname())
    udp.recvfrom(100)
    emit(role="files", done=True)


def reset_server(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(8)
    emit(role="server", ready=True)
    conn, _ = listener.accept()
    # Closing with unread bytes in the receive queue makes the kernel send a reset.
    while not select_readable(conn):
        pass
    conn.close()
    emit(role="server", closed=True)


def select_readable(sock):
    import select
    return bool(select.select([sock], [], [], 5)[0])


def reset_client(host, port):
    sock = socket.create_connection((host, port))
    sock.sendall(b"POST /never-read HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
    try:
        got = sock.recv(100)
        outcome = "eof" if not got else "data"
    except ConnectionResetError:
        outcome = "reset"
    emit(role="client", outcome=outcome, local=list(sock.getsockname()))


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "server":
        server(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), *sys.argv[5:6])
    elif what == "client":
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], *sys.argv[5:6])
    elif what == "files":
        files(sys.argv[2])
    elif what == "reset-server":
        reset_server(int(sys.argv[2]))
    elif what == "reset-client":
        reset_client(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: see the docstring")
