"""One guest connection ↔ 127.0.0.1:PORT, for qemu's `guestfwd=…-cmd:` (RIGS.md).

slirp runs this once per connection the guest opens to the forwarded address, with
the connection on stdin/stdout; the bytes go unchanged to the emulator listening on
the host's loopback. (The `guestfwd=…-tcp:` form serves one connection per qemu run
and refuses to start while nothing listens yet.) Stdlib only, started with `-S`: it
runs for every IMDS request of the guest.

    python3 -S relay.py PORT
"""

import os
import socket
import sys
import threading


def _pump_out(sock: socket.socket) -> None:
    out = sys.stdout.fileno()
    while True:
        data = sock.recv(65536)
        if not data:
            break
        os.write(out, data)
    os.close(out)


def main() -> int:
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=300)
    reader = threading.Thread(target=_pump_out, args=(sock,), daemon=True)
    reader.start()
    fd = sys.stdin.fileno()
    while True:
        data = os.read(fd, 65536)
        if not data:
            break
        sock.sendall(data)
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    reader.join(timeout=300)
    return 0


if __name__ == "__main__":
    sys.exit(main())
