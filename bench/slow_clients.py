"""Slow and stalled clients against `weir serve`: the server's memory, and what it cuts off.

    python bench/slow_clients.py [--connections 50] [--rev REV]

Each client declares a 6 MB body, sends as much of it as the server will take and stalls
(the attack of issue 18, bug 8). With an API key configured and none sent (`--keyed`, the
default) the body used to be buffered before the key was checked: 50 such clients held
+288 MB. The bench prints the server's resident memory before, while the clients stall, and
its peak (VmHWM), and how many connections the server closed within `--wait` seconds.
`--rev` runs the same against an older revision (bench/baseline.py), for the before figure.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

from soak import memory_mb
from workload import ROOT, WeirServer

BODY = 6 * 1024 * 1024


def stall(port: int, budget_s: float) -> socket.socket:
    """Connect, send the headers of a 6 MB POST and as much body as is taken in `budget_s`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % BODY)
    s.setblocking(False)
    chunk, sent, deadline = b" " * 65536, 0, time.monotonic() + budget_s
    while sent < BODY - len(chunk) and time.monotonic() < deadline:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.005)
        except OSError:
            break  # answered and closed already
    return s


def closed(s: socket.socket) -> bool:
    try:
        return s.recv(65536, socket.MSG_PEEK) == b"" or _drain(s)
    except BlockingIOError:
        return False
    except OSError:
        return True


def _drain(s: socket.socket) -> bool:
    """An answer arrived: read it; closed if the server also closed after it."""
    try:
        while s.recv(65536):
            pass
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--open", action="store_true", help="no API key configured (the body timeout cuts them off)")
    ap.add_argument("--wait", type=float, default=20.0, help="seconds the clients stall before memory is read")
    ap.add_argument("--rev", default=None, help="an older git revision to serve instead of the working tree")
    args = ap.parse_args()
    src = ROOT / "src"
    if args.rev:
        from baseline import extract

        _, src = extract(args.rev)
    extra = () if args.rev else ("--body-timeout", str(args.wait / 2))
    with WeirServer(src=src, extra=extra) as server:
        if not args.open:
            subprocess.run([sys.executable, "-m", "weir", "keys", "add", "bench", "--data-dir", server.data_dir],
                           check=True, capture_output=True, env={"PYTHONPATH": str(src)})
        rss0, _ = memory_mb(server.proc.pid)
        t0 = time.monotonic()
        sockets = [stall(server.port, 0.5) for _ in range(args.connections)]
        time.sleep(max(0.0, args.wait - (time.monotonic() - t0)))
        rss, hwm = memory_mb(server.proc.pid)
        cut = sum(closed(s) for s in sockets)
        for s in sockets:
            s.close()
    what = "open server, no key" if args.open else "a key configured, none sent"
    print(f"weir slow clients ({args.rev or 'working tree'}, {what}): {args.connections} stalled 6 MB uploads; "
          f"rss {rss0:.0f} MB before, {rss:.0f} MB after {args.wait:g} s (+{rss - rss0:.0f} MB), "
          f"peak {hwm:.0f} MB; {cut} of {args.connections} connections closed by the server")


if __name__ == "__main__":
    main()
