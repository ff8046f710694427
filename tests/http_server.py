"""A small HTTP server on 127.0.0.1 for download tests: good files, wrong hashes, truncation, errors, stalls.

    with serve({"/ok.pth": b"data"}) as base_url:  # http://127.0.0.1:PORT
        ...

Routes map a path to bytes (served whole), or to ("truncate", bytes) (Content-Length of the whole, then
only half the body and a closed connection), ("slow", bytes) (the whole body, slowly), ("status", code),
("stall", seconds) (headers, then silence), ("raw", bytes) (those bytes as the whole answer: broken HTTP),
("trickle", length, seconds) (one byte at a time) or ("endless",) (no length, 64 MB of data at most).
Everything it does is bounded: it serves until the block ends, then shuts down.
"""

import contextlib
import http.server
import socket
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 - the name http.server calls
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        if isinstance(route, bytes):
            self._headers(len(route))
            self.wfile.write(route)
        elif route[0] == "truncate":
            self._headers(len(route[1]))
            self.wfile.write(route[1][: len(route[1]) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif route[0] == "status":
            self.send_error(route[1])
        elif route[0] == "slow":  # the whole body, in 256 kB pieces 10 ms apart
            self._headers(len(route[1]))
            for i in range(0, len(route[1]), 1 << 18):
                self.wfile.write(route[1][i : i + (1 << 18)])
                self.wfile.flush()
                time.sleep(0.01)
        elif route[0] == "stall":
            self._headers(1000)
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            time.sleep(route[1])
        elif route[0] == "raw":  # bytes straight on the socket: no valid status line or headers
            self.wfile.write(route[1])
            self.wfile.flush()
            self.close_connection = True
        elif route[0] == "trickle":  # ("trickle", length, seconds): one byte every so often, up to ~3 s
            self._headers(route[1])
            with contextlib.suppress(OSError):
                for _ in range(int(3 / route[2])):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(route[2])
        elif route[0] == "endless":  # no Content-Length, data until the client hangs up (64 MB at most)
            self.send_response(200)
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(256):
                    self.wfile.write(b"y" * (1 << 18))

    def _headers(self, length):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args):  # keep test output quiet
        pass


@contextlib.contextmanager
def serve(routes):
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def refused_url():
    """A URL on 127.0.0.1 where nothing listens (the port was just free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.pth"
