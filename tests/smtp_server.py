"""A real SMTP server on this machine, for the tests that kill a worker while it sends: it
speaks enough SMTP for Django's backend (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
keeps every message it accepted, and can be told to hold a conversation at one point, so a
test knows the worker is in the middle of sending when it kills it:

- `hold="data"`: the message's bytes are received but not yet accepted (no 250 after the
  final dot): a sender killed now has not delivered it, and the server drops it;
- `hold="quit"`: the message was accepted (250) and the server waits before answering QUIT:
  a sender killed now has delivered it but cannot have recorded that it did.

`release()` lets held conversations go on; `held.wait()` says one is being held.
"""

import email
import select
import socket
import socketserver
import threading
import time


class SMTPServer:
    def __init__(self, hold=None):
        self.hold = hold
        self.accepted = []  # email.message.Message, in the order accepted
        self.held = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                outer._converse(self.connection, self.rfile, self.wfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"smtp://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def release(self):
        self.hold = None
        self._released.set()

    def close(self):
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def message_ids(self):
        with self._lock:
            return [m["Message-ID"] for m in self.accepted]

    def _wait_if(self, point, sock) -> bool:
        """Hold here while told to; False if the sender went away meanwhile."""
        if self.hold != point:
            return True
        self.held.set()
        deadline = time.monotonic() + 300
        while not self._released.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                return False
        return True

    def _converse(self, sock, rfile, wfile):
        def say(line):
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        try:
            say("220 test SMTP server ready")
            while True:
                line = rfile.readline()
                if not line:
                    return  # the sender went away (killed)
                verb = line.decode("latin-1").strip().split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    say("250-test\r\n250 SIZE 52428800" if verb == "EHLO" else "250 test")
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    say("250 OK")
                elif verb == "DATA":
                    say("354 go ahead")
                    data = bytearray()
                    while True:
                        chunk = rfile.readline()
                        if not chunk:
                            return  # killed mid-message: nothing was delivered
                        if chunk in (b".\r\n", b".\n"):
                            break
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    if not self._wait_if("data", sock):
                        return  # killed before the message was accepted: not delivered
                    with self._lock:
                        self.accepted.append(email.message_from_bytes(bytes(data)))
                    say("250 accepted")
                elif verb == "QUIT":
                    self._wait_if("quit", sock)
                    say("221 bye")
                    return
                else:
                    say("502 not implemented")
        except (ConnectionError, BrokenPipeError, OSError):
            return
