#!/usr/bin/env python3
"""Connection exhaustion: 2,000 connections that never finish their request head, against a
server started with a soft file-descriptor limit of 1,024 (the hard limit above it), while
/healthz must keep answering.

    python3 tests/faults/connections.py [REETRACE_BIN]

The server raises its soft limit to the hard one at start, caps connections within that budget,
and closes unfinished heads after its header read timeout (2 s here), so the slow connections
can neither exhaust the descriptors ("accept error: Too many open files") nor starve /healthz.
Exit 0 when every /healthz answered 200 within 3 s and the server never ran out of descriptors.
"""

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SLOW = 2000
HEALTH_CHECKS = 15
HEADER_TIMEOUT_MS = 2000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("REETRACE_BIN", "target/debug/reetrace")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SLOW + 500:
        print(f"FAIL: the hard descriptor limit ({hard}) is below what the test needs")
        return 1
    # This process holds the slow connections: it needs the descriptors itself.
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({
        "REETRACE_DATABASE_URL": f"sqlite://{work}/reetrace.db",
        "REETRACE_MASTER_KEY_FILE": f"{work}/master.key",
        "REETRACE_LISTEN": f"127.0.0.1:{port}",
        "REETRACE_PUBLIC_BASE_URL": base,
        "REETRACE_HEADER_READ_TIMEOUT_MS": str(HEADER_TIMEOUT_MS),
        "REETRACE_LOG": "info",
    })
    log = open(os.path.join(work, "server.log"), "w")

    def limit_descriptors():
        # The server starts with the soft limit the issue reproduced (1,024).
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=limit_descriptors)
    slow = []
    failures = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    print("FAIL: the server did not start")
                    return 1
                time.sleep(0.2)
        started = time.time()
        for i in range(SLOW):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-" + str(i).encode() + b": ")
                slow.append(s)
            except OSError as err:
                # The server may already be closing the oldest ones; the backlog may be full.
                failures.append(f"slow connection {i}: {err}")
                break
        print(f"connections: {len(slow)} unfinished heads open in {time.time() - started:.1f} s")
        answered = []
        for i in range(HEALTH_CHECKS):
            t0 = time.time()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=3) as response:
                    status = response.status
            except OSError as err:
                status = f"error {err}"
            took = time.time() - t0
            answered.append((status, took))
            if status != 200:
                failures.append(f"/healthz {i}: {status} after {took:.2f} s")
            time.sleep(0.5)
        print("connections: /healthz " + ", ".join(f"{s} in {t * 1000:.0f} ms" for s, t in answered))
    finally:
        for s in slow:
            try:
                s.close()
            except OSError:
                pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    text = open(os.path.join(work, "server.log")).read()
    if "Too many open files" in text:
        failures.append("the server ran out of file descriptors")
    budget = [line for line in text.splitlines() if "file-descriptor budget" in line]
    if budget:
        print("connections: " + budget[0].strip())
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print(f"connections: ok ({SLOW} unfinished heads, {HEALTH_CHECKS} health checks answered)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
