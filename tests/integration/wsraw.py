"""A WebSocket client written out by hand (RFC 6455), for what a library
client will not do: stay silent to pings, announce a 10 MB frame and stop
after its first bytes, or upgrade without a Sec-WebSocket-Key."""
import base64
import os
import socket
import struct

CLOSE, PING, PONG, TEXT = 0x8, 0x9, 0xA, 0x1


class Conn:
    def __init__(self, sock, status, head):
        self.sock = sock
        self.status = status
        self.head = head
        self.buf = b""

    def send_frame(self, opcode, payload=b"", length=None):
        """One masked frame; `length` may claim more than `payload` holds."""
        n = len(payload) if length is None else length
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + body)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        """(opcode, payload) of the next frame from the server; EOFError at EOF."""
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return b0 & 0x0F, self._need(n)

    def close(self):
        self.sock.close()


def connect(port, path, headers=None, key=True, timeout=10, rcvbuf=None):
    """Sends the upgrade request; returns a Conn with the answer's status.
    rcvbuf: a small receive buffer, for a peer that stops reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Version: 13"]
    if key:
        lines.append("Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode())
    lines += ["%s: %s" % kv for kv in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    text, _, rest = head.partition(b"\r\n\r\n")
    status = int(text.split(b" ", 2)[1]) if text.startswith(b"HTTP/1.") else 0
    conn = Conn(sock, status, text.decode("latin-1"))
    conn.buf = rest
    return conn
