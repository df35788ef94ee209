#!/usr/bin/env python3
"""The microservice fault test: two instances of each service on PostgreSQL behind nginx, a mixed
workload through the gateway for DURATION seconds, one instance of each service killed with
SIGKILL and restarted during it, the stock consumer restarted; then every acknowledged write is
checked to be there exactly once, the log and chains verified, the stock projections compared
with a recount of what was written, and 5xx answers outside the kill windows counted as failures.

Standard library only. Run by tests/faults/microservices.sh, which prepares the database, the
binary and nginx, and passes them in the environment.
"""

import atexit
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

BINARY = os.environ["REETRACE_BIN"]
DATABASE_URL = os.environ["DATABASE_URL"]
RUN = os.environ["RUN_DIR"]
NGINX = os.environ.get("NGINX", "nginx")
DURATION = float(os.environ.get("DURATION", "35"))
BASE_PORT = int(os.environ.get("BASE_PORT", "28100"))

PORTS = {
    "gateway": BASE_PORT,
    "passport-1": BASE_PORT + 1, "passport-2": BASE_PORT + 2,
    "custody-1": BASE_PORT + 3, "custody-2": BASE_PORT + 4,
    "stock-1": BASE_PORT + 5, "stock-2": BASE_PORT + 6,
}
GATEWAY = f"http://127.0.0.1:{PORTS['gateway']}"
GTIN = "04012345000016"
# What each registered motor holds (grams), for the recount of the stock figures.
CONTENT = {"Nd": 337.5, "Pr": 105, "Dy": 60, "Tb": 7.5}

env = dict(os.environ)
env.update({
    "REETRACE_DATABASE_URL": DATABASE_URL,
    "REETRACE_PUBLIC_BASE_URL": GATEWAY,
    "REETRACE_PASSPORT_URL": GATEWAY,
    "REETRACE_CUSTODY_URL": GATEWAY,
    "REETRACE_STOCK_URL": GATEWAY,
    "REETRACE_LOG": env.get("REETRACE_LOG", "warn"),
    "REETRACE_RATE_LIMIT_PER_SECOND": "0",
    "REETRACE_DISCLOSURE_K": "1",
})


# Every process this test started, stopped at exit whatever happens.
started_processes = []


@atexit.register
def _stop_everything():
    for proc in started_processes:
        if proc.poll() is None:
            proc.kill()


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def reetrace(*args):
    out = subprocess.run([BINARY, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"reetrace {' '.join(args)}: {out.stderr}")
    return out.stdout


class Instance:
    """One `reetrace serve --services X` process."""

    def __init__(self, name):
        self.name = name
        self.service = name.split("-")[0]
        self.proc = None

    def start(self):
        log = open(os.path.join(RUN, f"{self.name}.log"), "a")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--services", self.service, "--listen", f"127.0.0.1:{PORTS[self.name]}"],
            env=env, stdout=log, stderr=log)
        started_processes.append(self.proc)

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[self.name]}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.2)
        fail(f"{self.name} did not become ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


# --- HTTP -------------------------------------------------------------------------------------

answers = []          # (time, method, path, status)
answers_lock = threading.Lock()
kill_windows = []     # (from, to): 5xx and connection errors are expected inside


def call(method, path, key=None, body=None, idem=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(GATEWAY + path, data=data, method=method)
    if key:
        request.add_header("Authorization", "Bearer " + key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if idem:
        request.add_header("Idempotency-Key", idem)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except Exception as e:  # noqa: BLE001 - the connection itself failed
        status, raw = 0, str(e).encode()
    with answers_lock:
        answers.append((time.time(), method, path.split("?")[0], status))
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


RETRYABLE = {"concurrent_request", "unavailable", "rate_limited", "internal"}


def reliably(method, path, key, body=None, ok=(200, 201)):
    """Sends a write with one Idempotency-Key, retrying until it is answered; every answer for the
    key must be the same. Returns (status, answer) of the final answer."""
    idem = str(uuid.uuid4())
    first = None
    for _ in range(40):
        status, answer = call(method, path, key, body, idem)
        retry = status == 0 or status >= 500 or (isinstance(answer, dict) and answer.get("code") in RETRYABLE)
        if not retry:
            if status in ok:
                if first is not None and first != answer:
                    fail(f"a retry with the same Idempotency-Key answered differently: {first} vs {answer}")
                first = answer
            return status, answer
        time.sleep(0.25)
    fail(f"{method} {path} never got an answer")


# --- the workload -------------------------------------------------------------------------------

state_lock = threading.Lock()
registered = {}       # passport id -> serial
chains_done = []      # passport ids fully recycled
events = set()        # acknowledged custody event ids
stop = threading.Event()


def motor(serial):
    return {"granularity": "item",
            "product": {"gtin": GTIN, "serial": serial, "name": "Traction motor", "category": "ev_traction_motor",
                        "net_mass_g": 48000, "placed_on_market": {"date": "2030-04-15", "country": "FR"}},
            "ree_content": {"components": [{"name": "rotor magnets", "material": "NdFeB-sintered", "mass_g": 1500,
                                            "elements": [{"element": e, "mass_g": m} for e, m in CONTENT.items()]}]}}


def registrar(maker, worker):
    n = 0
    while not stop.is_set():
        n += 1
        if n % 5 == 0:
            serials = [f"BULK-{worker}-{n}-{i}" for i in range(20)]
            status, answer = reliably("POST", "/api/v1/passports/bulk", maker, [motor(s) for s in serials], ok=(200,))
            if status == 200:
                with state_lock:
                    for line, serial in zip(answer["results"], serials):
                        if line["status"] == 201:
                            registered[line["id"]] = serial
        else:
            serial = f"ONE-{worker}-{n}"
            status, answer = reliably("POST", "/api/v1/passports", maker, motor(serial))
            if status == 201:
                with state_lock:
                    registered[answer["id"]] = serial
        time.sleep(0.05)


def custody_worker(collector, processor, processor_id):
    used = set()
    while not stop.is_set():
        with state_lock:
            candidates = [p for p in registered if p not in used]
        if not candidates:
            time.sleep(0.2)
            continue
        pid = random.choice(candidates)
        used.add(pid)
        at = "2026-09-0{}T09:00:00Z"
        steps = [(collector, {"action": "collect", "at": at.format(1)}),
                 (collector, {"action": "handover", "at": at.format(2), "to_org": processor_id}),
                 (processor, {"action": "accept", "at": at.format(3)}),
                 (processor, {"action": "sort", "at": at.format(4)})]
        ok = True
        for key, body in steps:
            status, answer = reliably("POST", f"/api/v1/custody/{pid}/events", key, body)
            if status != 201:
                ok = False  # another worker took this product first: a 409 is a correct answer
                break
            with state_lock:
                events.add(answer["event_id"])
        if not ok:
            continue
        status, answer = reliably("POST", "/api/v1/custody/transformations", processor, {
            "process": "dismantling", "at": "2026-10-01T10:00:00Z", "inputs": [{"passport": pid}],
            "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
                         "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100}]}]})
        if status != 201:
            fail(f"dismantling failed: {status} {answer}")
        with state_lock:
            events.add(answer["event_id"])
        lot = answer["lots"][0]["lot_id"]
        status, answer = reliably("POST", "/api/v1/custody/transformations", processor, {
            "process": "recycling", "at": "2026-11-01T10:00:00Z", "inputs": [{"lot": lot}],
            "outputs": [{"kind": "oxide", "material": "NdPr oxide", "mass_g": 400,
                         "elements": [{"element": "Nd", "mass_g": 300}, {"element": "Pr", "mass_g": 90}]}]})
        if status != 201:
            fail(f"recycling failed: {status} {answer}")
        with state_lock:
            events.add(answer["event_id"])
            chains_done.append(pid)


def reader(regulator, recycler):
    while not stop.is_set():
        call("GET", "/api/v1/stock/flows?group_by=element", regulator)
        call("GET", "/api/v1/stock/indicators", regulator)
        with state_lock:
            some = random.choice(list(registered)) if registered else None
        if some:
            call("GET", f"/api/v1/passports/{some}")
            call("GET", f"/api/v1/custody/{some}", recycler)
        time.sleep(0.1)


# --- the run ------------------------------------------------------------------------------------

def main():
    instances = {name: Instance(name) for name in PORTS if name != "gateway"}
    reetrace("migrate")
    admin = json.loads(reetrace("admin", "org", "create", "--name", "Fault test admin", "--role", "admin"))["api_key"]
    for instance in instances.values():
        instance.start()
    for instance in instances.values():
        instance.wait_ready()
    conf = open(os.path.join(os.path.dirname(__file__), "gateway.conf.template")).read()
    for name, port in PORTS.items():
        token = {"gateway": "GW", "passport-1": "P1", "passport-2": "P2", "custody-1": "C1",
                 "custody-2": "C2", "stock-1": "S1", "stock-2": "S2"}[name]
        conf = conf.replace(f"@{token}@", str(port))
    conf = conf.replace("@RUN@", RUN)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(RUN, sub), exist_ok=True)
    with open(os.path.join(RUN, "gateway.conf"), "w") as f:
        f.write(conf)
    gateway = subprocess.Popen([NGINX, "-c", os.path.join(RUN, "gateway.conf"), "-p", RUN],
                               stdout=open(os.path.join(RUN, "nginx.out"), "w"), stderr=subprocess.STDOUT)
    started_processes.append(gateway)
    time.sleep(1)

    def org(name, role):
        status, answer = call("POST", "/api/v1/orgs", admin, {"name": name, "role": role})
        if status != 201:
            fail(f"create {name}: {status} {answer}")
        return answer["org_id"], answer["api_key"]

    makers = [org("Maker A", "manufacturer")[1], org("Maker B", "manufacturer")[1]]
    collector = org("Collector", "recycler")[1]
    processor_id, processor = org("Processor", "recycler")
    _, regulator = org("Regulator", "regulator")

    threads = [threading.Thread(target=registrar, args=(makers[i % 2], i)) for i in range(3)]
    threads += [threading.Thread(target=custody_worker, args=(collector, processor, processor_id)) for _ in range(3)]
    threads += [threading.Thread(target=reader, args=(regulator, collector))]
    started = time.time()
    for t in threads:
        t.start()

    # The faults: one instance of each service killed and restarted, the stock consumer restarted.
    faults = [(0.25, "passport-1", "kill"), (0.40, "custody-2", "kill"), (0.55, "stock-1", "kill"),
              (0.70, "stock-2", "restart")]
    for share, name, how in faults:
        time.sleep(max(0.0, started + share * DURATION - time.time()))
        window_start = time.time()
        if how == "kill":
            instances[name].kill()
            print(f"{time.time() - started:5.1f}s SIGKILL {name}", flush=True)
            time.sleep(2)
        else:
            instances[name].stop()
            print(f"{time.time() - started:5.1f}s restart {name}", flush=True)
        instances[name].start()
        instances[name].wait_ready()
        kill_windows.append((window_start - 0.5, time.time() + 3))
    time.sleep(max(0.0, started + DURATION - time.time()))
    stop.set()
    for t in threads:
        t.join()
    print(f"workload: {len(answers)} requests in {time.time() - started:.0f}s, {len(registered)} passports, "
          f"{len(events)} custody events, {len(chains_done)} full chains", flush=True)

    checks(admin, regulator)
    gateway.send_signal(signal.SIGTERM)
    for instance in instances.values():
        instance.stop()
    print("OK", flush=True)


def in_kill_window(t):
    return any(a <= t <= b for a, b in kill_windows)


def checks(admin, regulator):
    # No server error outside the kill windows.
    bad = [a for a in answers if (a[3] >= 500 or a[3] == 0) and not in_kill_window(a[0])]
    if bad:
        fail(f"{len(bad)} 5xx or failed connections outside the kill windows, e.g. {bad[:5]}")
    print(f"check: no 5xx outside the kill windows ({sum(1 for a in answers if a[3] >= 500 or a[3] == 0)} inside)")

    # Every acknowledged passport exactly once, and no passport that was not acknowledged.
    stored, cursor = {}, None
    while True:
        path = "/api/v1/passports?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, page = call("GET", path, admin)
        if status != 200:
            fail(f"list passports: {status} {page}")
        for item in page["items"]:
            stored.setdefault(item["serial"], []).append(item["id"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    duplicates = {s: ids for s, ids in stored.items() if len(ids) > 1}
    if duplicates:
        fail(f"duplicate passports: {list(duplicates.items())[:3]}")
    stored_ids = {ids[0] for ids in stored.values()}
    if set(registered) != stored_ids:
        fail(f"acknowledged vs stored passports differ: {len(set(registered) - stored_ids)} missing, "
             f"{len(stored_ids - set(registered))} not acknowledged")
    print(f"check: {len(stored_ids)} acknowledged passports stored exactly once")

    # Every acknowledged custody event exactly once in the log, and nothing else.
    seen, start = [], 0
    while True:
        status, entries = call("GET", f"/api/v1/log/entries?from={start}&limit=1000", admin)
        if status != 200:
            fail(f"log entries: {status} {entries}")
        seen += [e["event_id"] for e in entries]
        if len(entries) < 1000:
            break
        start += 1000
    if len(seen) != len(set(seen)) or set(seen) != events:
        fail(f"log vs acknowledged events: {len(seen)} leaves, {len(set(seen))} distinct, {len(events)} acknowledged")
    print(f"check: {len(events)} acknowledged custody events in the log exactly once")

    # The chains and the Merkle log verify against the signed checkpoint.
    time.sleep(2)
    out = subprocess.run([BINARY, "verify-log", "--database-url", DATABASE_URL], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"verify-log: {out.stdout} {out.stderr}")
    print("check: verify-log holds")

    # Stock's projections equal a recount of what was written (placed on market: every passport
    # once; recycled: every chain's oxide).
    deadline = time.time() + 20
    while True:
        status, flows = call("GET", "/api/v1/stock/flows?group_by=element&basis=observed&element=Nd", regulator)
        if status != 200:
            fail(f"stock flows: {status} {flows}")
        totals = {}
        for row in flows.get("rows", []):
            totals[row.get("flow")] = totals.get(row.get("flow"), 0) + (row.get("value") or 0)
        expected_pom = len(stored_ids) * CONTENT["Nd"] / 1000
        expected_recycled = len(chains_done) * 300 / 1000
        if abs(totals.get("placed_on_market", 0) - expected_pom) < 1e-6 and \
                abs(totals.get("recycled", 0) - expected_recycled) < 1e-6:
            break
        if time.time() > deadline:
            fail(f"stock Nd flows {totals} differ from the recount: placed_on_market {expected_pom} kg, "
                 f"recycled {expected_recycled} kg")
        time.sleep(1)
    print(f"check: stock projections equal the recount ({expected_pom:.4f} kg Nd placed, {expected_recycled:.4f} kg recycled)")


if __name__ == "__main__":
    main()
