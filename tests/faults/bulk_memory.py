#!/usr/bin/env python3
"""Peak memory of concurrent bulk registrations: 24 clients each send one NDJSON body (by
default just under 16 MiB, the default bulk body limit) to POST /api/v1/passports/bulk with one
manufacturer's key, all at once; a client answered 503 or 429 waits the Retry-After it was
given and sends again, until every request has been answered (200, or another final status
such as 408 when the server's request timeout runs out, which is reported). Prints the server's peak
resident set (VmHWM), its resident set once all are done (VmRSS), the passports created and
the wall time.

    python3 tests/faults/bulk_memory.py target/release/reetrace [LABEL] [--body-mib N] [--max-peak-mib N]

The server runs on a fresh SQLite database in a temporary directory, with its defaults except
a rate limit that admits the 24 requests (the finding was "within its rate limit").
`--max-peak-mib` makes it a check (CI runs it on the debug build with 2 MiB bodies): exit 1
when the peak passes it or when a request was not stored whole. The benchmark (BENCHMARKS.md)
is the release build with the default 16 MiB bodies.
"""

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

CLIENTS = 24
BODY_BYTES = 16 * 1024 * 1024 - 64 * 1024


def option(name, default):
    if name in sys.argv:
        return float(sys.argv[sys.argv.index(name) + 1])
    return default


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def registration(request, n):
    return json.dumps({
        "granularity": "item",
        "product": {
            "gtin": "04012345000016",
            "serial": f"MEM-{request:02d}-{n:07d}",
            "name": "Traction motor PMSM 150 kW",
            "category": "ev_traction_motor",
            "net_mass_g": 48000,
            "placed_on_market": {"date": "2026-04-15", "country": "FR"},
        },
        "ree_content": {"components": [{
            "name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
            "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105}],
        }]},
    }, separators=(",", ":"))


def body(request, limit):
    lines = []
    size = 0
    n = 0
    while True:
        line = registration(request, n) + "\n"
        if size + len(line) > limit:
            break
        lines.append(line)
        size += len(line)
        n += 1
    return "".join(lines).encode(), n


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    positional = [a for i, a in enumerate(sys.argv[1:], 1)
                  if not a.startswith("--") and not sys.argv[i - 1].startswith("--")]
    binary = positional[0] if positional else "target/release/reetrace"
    label = positional[1] if len(positional) > 1 else binary
    body_bytes = int(option("--body-mib", BODY_BYTES / 2**20) * 2**20)
    max_peak_mib = option("--max-peak-mib", None)
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({
        "REETRACE_DATABASE_URL": f"sqlite://{work}/reetrace.db",
        "REETRACE_MASTER_KEY_FILE": f"{work}/master.key",
        "REETRACE_LISTEN": f"127.0.0.1:{port}",
        "REETRACE_PUBLIC_BASE_URL": base,
        "REETRACE_RATE_LIMIT_PER_SECOND": "100",
        "REETRACE_RATE_LIMIT_BURST": "1000",
        "REETRACE_LOG": "warn",
    })
    created = subprocess.run(
        [binary, "admin", "org", "create", "--name", "Bulk memory", "--role", "manufacturer",
         "--gs1-prefix", "4012345"],
        env=env, check=True, capture_output=True, text=True)
    key = json.loads(created.stdout)["api_key"]
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    print("FAIL: the server did not start")
                    return 1
                time.sleep(0.2)
        bodies = [body(i, body_bytes) for i in range(CLIENTS)]
        rss_start = status_kib(server.pid, "VmRSS")
        retries = [0] * CLIENTS
        peak_rss = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak_rss[0] = max(peak_rss[0], status_kib(server.pid, "VmRSS"))
                time.sleep(0.05)

        def send(i):
            data, lines = bodies[i]
            while True:
                request = urllib.request.Request(
                    base + "/api/v1/passports/bulk", data=data, method="POST",
                    headers={"Authorization": "Bearer " + key,
                             "Content-Type": "application/x-ndjson"})
                try:
                    with urllib.request.urlopen(request, timeout=900) as answer:
                        outcome = answer.read().decode().splitlines()
                        ok = sum(1 for line in outcome if json.loads(line)["status"] == 201)
                        return ok, lines, answer.status
                except urllib.error.HTTPError as e:
                    if e.code in (429, 503):
                        retries[i] += 1
                        time.sleep(float(e.headers.get("Retry-After") or 1))
                        continue
                    # Any other answer (408 when the server's request timeout ran out, say)
                    # is this request's outcome.
                    return 0, lines, e.code

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(send, range(CLIENTS)))
        wall = time.time() - started
        done.set()
        sampler.join()
        time.sleep(2)
        hwm = status_kib(server.pid, "VmHWM")
        rss_after = status_kib(server.pid, "VmRSS")
        created_total = sum(ok for ok, _, _ in results)
        sent_total = sum(lines for _, lines, _ in results)
        statuses = {}
        for _, _, status in results:
            statuses[status] = statuses.get(status, 0) + 1
        load = open("/proc/loadavg").read().split()[:3]
        print(f"{label}: {CLIENTS} concurrent bulk requests of {body_bytes / 2**20:.1f} MiB "
              f"({sent_total} registrations): {created_total} created in {wall:.0f} s, "
              f"{sum(retries)} retries after 503/429; final answers "
              f"{', '.join(f'{n} x {code}' for code, n in sorted(statuses.items()))}")
        print(f"{label}: RSS before {rss_start / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB "
              f"(sampled {peak_rss[0] / 1024:.0f} MiB), after {rss_after / 1024:.0f} MiB; "
              f"load {' '.join(load)}")
        if created_total != sent_total:
            print(f"FAIL: {sent_total - created_total} registrations were not stored")
            return 1
        if max_peak_mib is not None and hwm / 1024 > max_peak_mib:
            print(f"FAIL: peak RSS {hwm / 1024:.0f} MiB is over {max_peak_mib:.0f} MiB")
            return 1
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
