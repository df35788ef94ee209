#!/usr/bin/env python3
"""The microservice fault test: two instances of each service on PostgreSQL behind nginx, a mixed
workload through the gateway for DURATION seconds, one instance of each service killed with
SIGKILL and restarted during it (both deposits instances, one after the other), the stock consumer
restarted; then every acknowledged write is checked to be there exactly once (passports, custody
events, residue deposits at their acknowledged version), the log and chains verified, the stock
projections compared with a recount in SQL from the passport and custody tables, retried writes
checked for a single effect, and 5xx answers outside the kill windows counted as failures.

Standard library only (psql for the recount). Run by tests/faults/microservices.sh, which
prepares the database, the binary and nginx, and passes them in the environment.
"""

import atexit
import collections
import json
import os
import signal
import socket
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
    "deposits-1": BASE_PORT + 7, "deposits-2": BASE_PORT + 8,
}
GATEWAY = f"http://127.0.0.1:{PORTS['gateway']}"
# Maker A holds the GS1 Company Prefix 4012345 and Maker B 4012346: each registers its own GTIN.
PREFIXES = ("4012345", "4012346")
GTINS = ("04012345000016", "04012346000015")
RUN_TAG = uuid.uuid4().hex[:6]
# What each registered motor holds (grams).
CONTENT = {"Nd": 337.5, "Pr": 105, "Dy": 60, "Tb": 7.5}
CUSTODY_WORKERS = 3

env = {k: v for k, v in os.environ.items() if k not in ("REETRACE_BIN", "REETRACE_TEST_POSTGRES_URL")}
env.update({
    "REETRACE_DATABASE_URL": DATABASE_URL,
    "REETRACE_PUBLIC_BASE_URL": GATEWAY,
    "REETRACE_PASSPORT_URL": GATEWAY,
    "REETRACE_CUSTODY_URL": GATEWAY,
    "REETRACE_STOCK_URL": GATEWAY,
    "REETRACE_DEPOSITS_URL": GATEWAY,
    "REETRACE_LOG": env.get("REETRACE_LOG", "warn"),
    "REETRACE_RATE_LIMIT_PER_SECOND": "0",
    # Every instance sits behind the gateway, which names the client in X-Forwarded-For; the
    # workload's clients all come from this machine, so address limits are off for the test.
    "REETRACE_TRUSTED_PROXIES": "127.0.0.1",
    "REETRACE_ADDRESS_RATE_LIMIT_PER_SECOND": "0",
    "REETRACE_DISCLOSURE_K": "1",
    # Eight instances share one PostgreSQL (100 connections by default) with whatever else runs.
    "REETRACE_DB_MAX_CONNECTIONS": "8",
})

started_processes = []  # every process this test started, stopped at exit whatever happens
T0 = time.time()


def track(proc, group=False):
    """Remembers a process (or, with `group`, its whole process group) to be stopped at exit;
    the shell script's trap reads the file too."""
    started_processes.append((proc, group))
    with open(os.path.join(RUN, "pids"), "a") as f:
        f.write(f"{'-' if group else ''}{proc.pid}\n")
    return proc


@atexit.register
def _stop_everything():
    for proc, group in started_processes:
        if group:
            # nginx: its workers outlive a killed master, so the whole group goes.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        elif proc.poll() is None:
            proc.kill()
            proc.wait()


def fail(message):
    """Ends the whole test at once (from any thread), stopping every process it started."""
    print(f"{clock()} FAIL: {message}", flush=True)
    if faults:
        print("faults injected so far: " + "; ".join(f"{at.strip()} {what}" for at, what in faults), flush=True)
    _stop_everything()
    os._exit(1)


def clock():
    return f"{time.time() - T0:6.1f}s"


def reetrace(*args):
    out = subprocess.run([BINARY, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"reetrace {' '.join(args)}: {out.stderr}")
    return out.stdout


def sql(query):
    """Rows of a query on the test database, as lists of strings."""
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", DATABASE_URL, "-c", query],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"psql: {out.stderr.strip()} in {query}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


class Instance:
    """One `reetrace serve --services X` process."""

    def __init__(self, name):
        self.name = name
        self.service = name.split("-")[0]
        self.proc = None

    def start(self):
        log = open(os.path.join(RUN, f"{self.name}.log"), "a")
        # HOSTNAME names the instance in the leases it takes (holder = HOSTNAME-random).
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--services", self.service, "--listen", f"127.0.0.1:{PORTS[self.name]}"],
            env={**env, "HOSTNAME": self.name}, stdout=log, stderr=log)
        track(self.proc)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail(f"{self.name} exited with {self.proc.returncode} (see {self.name}.log)")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[self.name]}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.1)
        fail(f"{self.name} did not become ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


# --- HTTP -------------------------------------------------------------------------------------

answers = []          # (time, kind, method, path, status)
answers_lock = threading.Lock()
kill_windows = []     # (from, to): 5xx and connection errors are expected inside
faults = []           # (offset, what)


def call(kind, method, path, key=None, body=None, idem=None, headers=None, timeout=30):
    """One request through the gateway: (status, parsed body, response headers)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(GATEWAY + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if idem:
        request.add_header("Idempotency-Key", idem)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    response_headers = {}
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as e:
        status, raw, response_headers = e.code, e.read(), e.headers
    except Exception as e:  # noqa: BLE001 - the connection itself failed
        # -1: an impatient client gave up waiting (its own choice); 0: the connection failed.
        status, raw = (-1 if timeout < 1 else 0), str(e).encode()
    with answers_lock:
        answers.append((time.time(), kind, method, path.split("?")[0], status))
    try:
        parsed = json.loads(raw or b"null")
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, parsed, response_headers


RETRYABLE_CODES = {"concurrent_request", "unavailable", "rate_limited"}

# Writes that needed more than one attempt: (kind, method, path, body, idem, final answer).
retried_writes = []
# Every acknowledged write, for the replay probe: (kind, method, path, key, body, idem, answer).
acknowledged_writes = []


def reliably(kind, method, path, key, body, ok=(200, 201), impatient=False, replayable=True, retry=()):
    """Sends a write with one Idempotency-Key, retrying the same request until it gets a definite
    answer. Returns (status, answer). An `impatient` client gives up on its first attempt after
    a few milliseconds, as a client whose timeout is too short does, and retries. A write that is
    not `replayable` (a PUT: the same record again answers the current version, not a replay) is
    left out of the replay probe; `retry` adds problem codes that call for another attempt."""
    idem = str(uuid.uuid4())
    attempts = 0
    deadline = time.time() + 90
    while time.time() < deadline:
        attempts += 1
        timeout = 0.005 if impatient and attempts == 1 else 30
        status, answer, headers = call(kind, method, path, key, body, idem, timeout=timeout)
        code = answer.get("code") if isinstance(answer, dict) else None
        if status <= 0 or status >= 500 or code in RETRYABLE_CODES or code in retry:
            time.sleep(0.2)
            continue
        if status in ok and not replayable:
            if attempts > 1:
                with answers_lock:
                    retried_writes.append((kind, path, idem, attempts, False, answer))
        elif status in ok:
            replayed = headers.get("idempotent-replayed") == "true"
            with answers_lock:
                acknowledged_writes.append((kind, method, path, key, body, idem, status, answer))
                if attempts > 1 or replayed:
                    retried_writes.append((kind, path, idem, attempts, replayed, answer))
        return status, answer
    fail(f"{method} {path} got no definite answer in 90 s")


# --- the workload -------------------------------------------------------------------------------

state_lock = threading.Lock()
registered = {}       # passport id -> (GTIN, serial)
deposits = {}         # acknowledged deposit id -> (name, latest acknowledged version)
queues = [collections.deque() for _ in range(CUSTODY_WORKERS)]  # products each custody worker takes
chains_done = []      # passport ids dismantled and recycled
events = {}           # acknowledged custody event id -> leaf index
stop = threading.Event()
errors = []           # unexpected answers of the workload


def motor(serial, country="FR", date="2026-04-15", gtin=GTINS[0]):
    return {"granularity": "item",
            "product": {"gtin": gtin, "serial": serial, "name": "Traction motor", "category": "ev_traction_motor",
                        "net_mass_g": 48000, "placed_on_market": {"date": date, "country": country}},
            "ree_content": {"components": [{"name": "rotor magnets", "material": "NdFeB-sintered", "mass_g": 1500,
                                            "elements": [{"element": e, "mass_g": m} for e, m in CONTENT.items()]}]}}


def unexpected(what, status, answer):
    with state_lock:
        errors.append(f"{clock()} {what}: {status} {str(answer)[:300]}")


def acknowledge(pid, gtin, serial):
    with state_lock:
        if pid in registered:
            errors.append(f"passport {pid} acknowledged twice")
        registered[pid] = (gtin, serial)
        queues[len(registered) % CUSTODY_WORKERS].append(pid)


def registrar(maker, worker):
    # Each worker its own market country; bulk registrations of the year before: the stock
    # figures then have several countries and years to get right.
    country = ["FR", "DE", "IT"][worker % 3]
    gtin = GTINS[worker % 2]  # the GTIN of makers[worker % 2]
    n = 0
    while not stop.is_set():
        n += 1
        if n % 5 == 0:
            serials = [f"BULK-{RUN_TAG}-{worker}-{n}-{i}" for i in range(10)]
            status, answer = reliably("bulk registration", "POST", "/api/v1/passports/bulk?atomic=true", maker,
                                      [motor(s, country, "2025-06-01", gtin) for s in serials], ok=(200,),
                                      impatient=n % 10 == 5)
            if status != 200:
                unexpected("bulk registration", status, answer)
                continue
            for line, serial in zip(answer["results"], serials):
                if line.get("status") != 201:
                    unexpected("bulk line", line.get("status"), line)
                    continue
                acknowledge(line["id"], gtin, serial)
        else:
            serial = f"ONE-{RUN_TAG}-{worker}-{n}"
            status, answer = reliably("registration", "POST", "/api/v1/passports", maker, motor(serial, country, gtin=gtin),
                                      impatient=n % 4 == 1)
            if status != 201:
                unexpected("registration", status, answer)
                continue
            acknowledge(answer["id"], gtin, serial)
        time.sleep(0.05)


def custody_worker(index, collector, processor, processor_id):
    """Takes its own products round the cycle: collect, hand over, accept, sort, dismantle the
    product into a magnet lot, recycle the lot into oxide. Every answer must be a 201."""
    queue = queues[index]
    while not stop.is_set():
        try:
            pid = queue.popleft()
        except IndexError:
            time.sleep(0.1)
            continue
        at = "2026-09-0{}T09:00:00Z"
        steps = [(collector, {"action": "collect", "at": at.format(1)}),
                 (collector, {"action": "handover", "at": at.format(2), "to_org": processor_id}),
                 (processor, {"action": "accept", "at": at.format(3)}),
                 (processor, {"action": "sort", "at": at.format(4)})]
        ok = True
        for i, (key, body) in enumerate(steps):
            status, answer = reliably("custody step", "POST", f"/api/v1/custody/{pid}/events", key, body,
                                      impatient=i == 1)
            if status != 201:
                unexpected(f"custody {body['action']} of {pid}", status, answer)
                ok = False
                break
            with state_lock:
                events[answer["event_id"]] = answer["leaf_index"]
        if not ok:
            continue
        status, answer = reliably("transformation", "POST", "/api/v1/custody/transformations", processor, {
            "process": "dismantling", "at": "2026-10-01T10:00:00Z", "inputs": [{"passport": pid}],
            "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
                         "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100}]}]},
            impatient=len(chains_done) % 3 == 0)
        if status != 201:
            unexpected(f"dismantling of {pid}", status, answer)
            continue
        with state_lock:
            events[answer["event_id"]] = answer["leaf_index"]
        lot = answer["lots"][0]["lot_id"]
        status, answer = reliably("transformation", "POST", "/api/v1/custody/transformations", processor, {
            "process": "recycling", "at": "2026-11-01T10:00:00Z", "inputs": [{"lot": lot}],
            "outputs": [{"kind": "oxide", "material": "NdPr oxide", "mass_g": 400,
                         "elements": [{"element": "Nd", "mass_g": 300}, {"element": "Pr", "mass_g": 90}]}]})
        if status != 201:
            unexpected(f"recycling of lot {lot}", status, answer)
            continue
        with state_lock:
            events[answer["event_id"]] = answer["leaf_index"]
            chains_done.append(pid)


def deposit_record(name, n, tonnes):
    """A residue deposit record: a point or a square outline, with one assay."""
    lon, lat = 17.0 + (n % 50) * 0.01, 47.0 + (n % 40) * 0.01
    geometry = {"type": "Point", "coordinates": [lon, lat]} if n % 2 else {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + 0.005, lat], [lon + 0.005, lat + 0.005], [lon, lat + 0.005], [lon, lat]]]}
    return {"name": name, "type": ("bauxite_residue", "fly_ash", "mine_tailings")[n % 3], "status": "active",
            "location": {"geometry": geometry, "country": "HU", "nuts": "HU213"},
            "tonnage": {"tonnes": tonnes, "uncertainty_tonnes": tonnes / 10, "method": "survey"},
            "deposition": {"from": 1990},
            "assays": [{"sampled_on": "2025-05-02", "method": "ICP-MS", "laboratory": "Fault test laboratory",
                        "sample_count": 4, "concentrations": [{"element": "Sc", "ppm": 110, "uncertainty_ppm": 8},
                                                              {"element": "Nd", "ppm": 95, "uncertainty_ppm": 6}]}]}


def surveyor(key, worker):
    """Records deposits (POST with an Idempotency-Key) and, every third one, its second version (a
    PUT of the whole record with another tonnage, retried as it is)."""
    n = 0
    while not stop.is_set():
        n += 1
        name = f"Pond {RUN_TAG}-{worker}-{n}"
        status, answer = reliably("deposit", "POST", "/api/v1/deposits", key, deposit_record(name, n, 1_000_000 + n),
                                  impatient=n % 4 == 1)
        if status != 201 or answer.get("version") != 1:
            unexpected("deposit", status, answer)
            continue
        deposit_id = answer["id"]
        with state_lock:
            if deposit_id in deposits:
                errors.append(f"deposit {deposit_id} acknowledged twice")
            deposits[deposit_id] = (name, 1)
        if n % 3 == 0:
            # Two attempts of one PUT racing (an impatient first one still running) may both take
            # version 2: one is refused with a conflict, and its retry finds the record there.
            status, answer = reliably("deposit version", "PUT", f"/api/v1/deposits/{deposit_id}", key,
                                      deposit_record(name, n, 2_000_000 + n), ok=(200,),
                                      impatient=n % 6 == 0, replayable=False, retry=("conflict",))
            if status != 200 or answer.get("version") != 2:
                unexpected(f"second version of deposit {deposit_id}", status, answer)
                continue
            with state_lock:
                deposits[deposit_id] = (name, 2)
        time.sleep(0.05)


def reader(regulator, recycler, index):
    """Regulator queries of the stock, resolver scans and custody scans."""
    n = 0
    while not stop.is_set():
        n += 1
        queries = ["/api/v1/stock/flows?group_by=element", "/api/v1/stock/indicators",
                   "/api/v1/stock/sankey?year=2026", "/api/v1/stock/flows?group_by=year,element&basis=both"]
        status, answer, _ = call("stock query", "GET", queries[(n + index) % len(queries)], regulator)
        if 400 <= status < 500:
            unexpected("stock query", status, answer)
        some = pick_recent(registered, n)
        if some:
            pid, (gtin, serial) = some
            status, answer, _ = call("resolver scan", "GET", f"/01/{gtin}/21/{serial}")
            if 400 <= status < 500:
                unexpected("resolver scan", status, answer)
            status, answer, _ = call("custody scan", "GET", f"/api/v1/custody/{pid}", recycler)
            # A 404 is judged after the run: the custody service pulls the passport feed when it
            # does not know a product, so only a kill window excuses it.
            if 400 <= status < 500 and status != 404:
                unexpected("custody scan", status, answer)
        # Open data: an acknowledged deposit is read without a key, at its acknowledged version
        # or a later one; now and then the whole GeoJSON export.
        some = pick_recent(deposits, n)
        if some:
            deposit_id, (_, version) = some
            status, answer, _ = call("deposit read", "GET", f"/api/v1/deposits/{deposit_id}")
            if 400 <= status < 500 or (status == 200 and answer["version"] < version):
                unexpected("deposit read", status, answer)
        if n % 10 == index:
            status, answer, _ = call("deposit export", "GET", "/api/v1/deposits.geojson")
            if 400 <= status < 500:
                unexpected("deposit export", status, answer)
        time.sleep(0.05)


# --- the run ------------------------------------------------------------------------------------

def lease_holder(name):
    rows = sql(f"SELECT holder FROM leases WHERE name = '{name}' "
               "AND expires_ms > (extract(epoch from clock_timestamp()) * 1000)::bigint")
    return rows[0][0] if rows else None


lease_changes = []  # (offset, lease, holder or None) each time a lease changed hands


def watch_leases():
    """Notes every change of hands of a lease while the workload runs."""
    last = {}
    while not stop.is_set():
        rows = sql("SELECT name, CASE WHEN expires_ms > (extract(epoch from clock_timestamp()) * 1000)::bigint "
                   "THEN holder END FROM leases")
        for name, holder in rows:
            holder = holder or None
            if last.get(name, "?") != holder:
                lease_changes.append((clock(), name, holder))
                last[name] = holder
        time.sleep(0.25)


def start_gateway():
    conf = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway.conf.template")).read()
    tokens = {"gateway": "GW", "passport-1": "P1", "passport-2": "P2", "custody-1": "C1",
              "custody-2": "C2", "stock-1": "S1", "stock-2": "S2", "deposits-1": "D1", "deposits-2": "D2"}
    for name, port in PORTS.items():
        conf = conf.replace(f"@{tokens[name]}@", str(port))
    conf = conf.replace("@RUN@", RUN)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(RUN, sub), exist_ok=True)
    with open(os.path.join(RUN, "gateway.conf"), "w") as f:
        f.write(conf)
    gateway = subprocess.Popen([NGINX, "-c", os.path.join(RUN, "gateway.conf"), "-p", RUN],
                               stdout=open(os.path.join(RUN, "nginx.out"), "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    track(gateway, group=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        if gateway.poll() is not None:
            fail(f"nginx exited: {open(os.path.join(RUN, 'nginx.out')).read()}")
        try:
            with urllib.request.urlopen(GATEWAY + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return gateway
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.1)
    fail("the gateway did not answer")


def ports_free():
    for name, port in PORTS.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                fail(f"port {port} (for {name}) is taken; choose other ports with BASE_PORT")


def main():
    ports_free()
    instances = {name: Instance(name) for name in PORTS if name != "gateway"}
    reetrace("migrate")
    admin = json.loads(reetrace("admin", "org", "create", "--name", "Fault test admin", "--role", "admin"))["api_key"]
    for instance in instances.values():
        instance.start()
    for instance in instances.values():
        instance.wait_ready()
    gateway = start_gateway()
    print(f"{clock()} {len(instances)} instances and the gateway are up", flush=True)

    def org(name, role, prefix=None):
        status, answer, _ = call("setup", "POST", "/api/v1/orgs", admin, {"name": name, "role": role})
        if status != 201:
            fail(f"create {name}: {status} {answer}")
        if prefix is not None:
            status, held, _ = call("setup", "POST", f"/api/v1/orgs/{answer['org_id']}/gs1-prefixes", admin,
                                   {"prefix": prefix})
            if status != 201:
                fail(f"GS1 prefix of {name}: {status} {held}")
        return answer["org_id"], answer["api_key"]

    makers = [org("Maker A", "manufacturer", PREFIXES[0])[1], org("Maker B", "manufacturer", PREFIXES[1])[1]]
    collector = org("Collector", "recycler")[1]
    processor_id, processor = org("Processor", "recycler")
    _, regulator = org("Regulator", "regulator")
    surveyors = [org("Survey A", "surveyor")[1], org("Survey B", "surveyor")[1]]

    threads = [threading.Thread(target=registrar, args=(makers[i % 2], i)) for i in range(3)]
    threads += [threading.Thread(target=custody_worker, args=(i, collector, processor, processor_id))
                for i in range(CUSTODY_WORKERS)]
    threads += [threading.Thread(target=reader, args=(regulator, collector, i)) for i in range(2)]
    threads += [threading.Thread(target=surveyor, args=(surveyors[i], i)) for i in range(2)]
    threads += [threading.Thread(target=watch_leases)]
    started = time.time()
    for t in threads:
        t.start()

    def window(do):
        begin = time.time()
        do()
        # Answers in flight when the instance went away, and nginx's fail_timeout, end within 3 s.
        kill_windows.append((begin - 0.5, time.time() + 3))

    def kill_and_restart(name):
        def do():
            instances[name].kill()
            faults.append((clock(), f"SIGKILL {name}"))
            print(f"{clock()} SIGKILL {name}", flush=True)
            time.sleep(2)
            instances[name].start()
            instances[name].wait_ready()
            faults.append((clock(), f"{name} restarted and ready"))
        window(do)

    dead_holders = set()

    def instance_holding(lease, service):
        holder = lease_holder(lease) or ""
        for name in (f"{service}-1", f"{service}-2"):
            if holder.startswith(name + "-") and holder not in dead_holders:
                return name, holder
        return None, holder

    def kill_lease_holder(lease, service):
        name, holder = instance_holding(lease, service)
        if name is None:
            name = f"{service}-2"
            faults.append((clock(), f"no live instance holds {lease}; killing {name}"))
        else:
            faults.append((clock(), f"{lease} is held by {holder}"))
            dead_holders.add(holder)
        kill_and_restart(name)

    def restart_stock_consumer():
        # The consumer runs where the lease is: wait until a live instance has taken it over
        # from the killed one (the dead holder's lease lapses after 10 s), then restart that one.
        deadline = time.time() + 20
        name, holder = instance_holding("stock.custody", "stock")
        while name is None and time.time() < deadline:
            time.sleep(0.2)
            name, holder = instance_holding("stock.custody", "stock")
        if name is None:
            fail(f"no live stock instance took the stock.custody lease over (held by {holder})")
        faults.append((clock(), f"stock.custody is held by {holder}"))

        def do():
            instances[name].stop()
            faults.append((clock(), f"SIGTERM {name}: the stock consumer stops, its leases released"))
            print(f"{clock()} SIGTERM {name}", flush=True)
            instances[name].start()
            instances[name].wait_ready()
            faults.append((clock(), f"{name} restarted and ready"))
        window(do)

    plan = [(0.15, lambda: kill_and_restart("passport-1")),
            (0.22, lambda: kill_and_restart("deposits-1")),
            (0.28, lambda: kill_lease_holder("custody.checkpoints", "custody")),
            (0.40, lambda: kill_lease_holder("stock.custody", "stock")),
            (0.58, lambda: kill_and_restart("deposits-2")),
            (0.72, restart_stock_consumer)]
    for share, do in plan:
        time.sleep(max(0.0, started + share * DURATION - time.time()))
        do()
    time.sleep(max(0.0, started + DURATION - time.time()))
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.time() - started
    print(f"{clock()} workload stopped after {elapsed:.1f} s", flush=True)

    results = checks(admin, regulator)
    summary(elapsed, results)
    gateway.send_signal(signal.SIGTERM)
    gateway.wait(timeout=10)
    for instance in instances.values():
        instance.stop()
    no_stray_transactions(instances)
    print("OK: the fault test passed", flush=True)


def no_stray_transactions(instances):
    """PostgreSQL warns when a BEGIN arrives on a connection already inside a transaction: a
    connection went back to the pool inside a transaction (a cancelled start), and the writes
    made on it in between were neither committed nor visible to the others."""
    for name in instances:
        with open(os.path.join(RUN, f"{name}.log"), errors="replace") as log:
            stray = sum("there is already a transaction in progress" in line for line in log)
        if stray:
            fail(f"{name}: {stray} BEGIN(s) on a connection already inside a transaction "
                 f"(see {name}.log)")
    print(f"{clock()} check: no connection went back to the pool inside a transaction "
          f"(no 'already a transaction in progress' in any instance's log)", flush=True)


def pick_recent(acknowledged, n):
    """One of the 50 latest acknowledged (id, details) pairs, chosen by the round `n`, or None."""
    with state_lock:
        recent = list(acknowledged.items())[-50:]
    return recent[n % len(recent)] if recent else None


def in_kill_window(t):
    return any(a <= t <= b for a, b in kill_windows)


def checks(admin, regulator):
    results = []

    def passed(text):
        results.append(text)
        print(f"{clock()} check: {text}", flush=True)

    if errors:
        fail(f"{len(errors)} unexpected answers during the workload, e.g. {errors[:5]}")
    passed("every write of the workload was acknowledged (no unexpected 4xx)")

    # No server error outside the kill windows.
    failed = [a for a in answers if a[4] >= 500 or a[4] == 0]
    bad = [a for a in failed if not in_kill_window(a[0])]
    if bad:
        fail(f"{len(bad)} 5xx or failed connections outside the kill windows, e.g. "
             f"{[(round(a[0] - T0, 1),) + a[1:] for a in bad[:5]]}")
    passed(f"no 5xx or failed connection outside the kill windows ({len(failed)} inside them, retried)")
    unseen = [a for a in answers if a[1] == "custody scan" and a[4] == 404]
    if any(not in_kill_window(a[0]) for a in unseen):
        fail(f"custody scans of acknowledged passports answered 404 outside the kill windows: {unseen[:5]}")
    passed(f"every custody scan of an acknowledged passport found it ({len(unseen)} 404 inside the kill windows)")

    # Every acknowledged passport stored exactly once, and nothing else (in the database and
    # through the API).
    rows = sql("SELECT id, serial FROM passports")
    stored = collections.Counter(r[0] for r in rows)
    by_serial = collections.Counter(r[1] for r in rows)
    if any(n > 1 for n in by_serial.values()):
        fail(f"serials stored twice: {[s for s, n in by_serial.items() if n > 1][:5]}")
    if set(stored) != set(registered):
        fail(f"acknowledged vs stored passports differ: {len(set(registered) - set(stored))} missing, "
             f"{len(set(stored) - set(registered))} stored but never acknowledged")
    listed, cursor = [], None
    while True:
        path = "/api/v1/passports?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = call("check", "GET", path, admin)
        if status != 200:
            fail(f"list passports: {status} {page}")
        listed += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if sorted(listed) != sorted(registered):
        fail(f"the passport list ({len(listed)}) differs from the acknowledged passports ({len(registered)})")
    passed(f"{len(registered)} acknowledged passports stored exactly once, no other (database and API list)")

    # Every acknowledged custody event exactly once in the log, on the leaf it was acknowledged
    # with, and nothing else.
    seen, start = {}, 0
    while True:
        status, page, _ = call("check", "GET", f"/api/v1/log/entries?from={start}&limit=1000", admin)
        if status != 200:
            fail(f"log entries: {status} {page}")
        if not page:
            break
        for entry in page:
            if entry["event_id"] in seen:
                fail(f"event {entry['event_id']} is in the log twice")
            seen[entry["event_id"]] = entry["leaf_index"]
        start = page[-1]["leaf_index"] + 1
    if seen != events:
        missing = [e for e in events if e not in seen]
        ghosts = [e for e in seen if e not in events]
        moved = [e for e in events if e in seen and seen[e] != events[e]]
        fail(f"log vs acknowledged events: {len(missing)} missing, {len(ghosts)} never acknowledged, "
             f"{len(moved)} on another leaf")
    db_events = int(sql("SELECT count(*) FROM custody_events")[0][0])
    if db_events != len(events):
        fail(f"custody_events holds {db_events} rows, {len(events)} were acknowledged")
    passed(f"{len(events)} acknowledged custody events in the log exactly once, each on its acknowledged leaf")

    # Retried writes: each had a single effect, and replaying acknowledged writes with their
    # Idempotency-Key answers the first answer without a second effect.
    deposit_rows = "SELECT count(*) FROM deposit_versions"
    before = (len(sql("SELECT id FROM passports")), db_events, int(sql(deposit_rows)[0][0]))
    replayed = 0
    for kind, method, path, key, body, idem, status, answer in acknowledged_writes[::max(1, len(acknowledged_writes) // 60)]:
        again, again_answer, headers = call("replay probe", method, path, key, body, idem)
        if again != status or again_answer != answer or headers.get("idempotent-replayed") != "true":
            fail(f"replaying {method} {path} with its Idempotency-Key answered {again} "
                 f"(replayed={headers.get('idempotent-replayed')}), first {status}: {str(again_answer)[:200]}")
        replayed += 1
    after = (len(sql("SELECT id FROM passports")), int(sql("SELECT count(*) FROM custody_events")[0][0]),
             int(sql(deposit_rows)[0][0]))
    if after != before:
        fail(f"replays wrote again: passports, events and deposit versions {before} -> {after}")
    by_kind = collections.Counter(w[0] for w in retried_writes)
    passed(f"{len(retried_writes)} writes retried with their Idempotency-Key ({dict(by_kind)}; "
           f"{sum(1 for w in retried_writes if w[4])} answered as replays) each took effect once; "
           f"{replayed} acknowledged writes replayed afterwards: same answers, no new rows")

    passed(deposits_check())

    # The chains and the Merkle log verify against the signed checkpoint.
    out = subprocess.run([BINARY, "verify-log", "--database-url", DATABASE_URL], env=env,
                         capture_output=True, text=True)
    try:
        report = json.loads(out.stdout)
    except ValueError:
        report = {}
    if out.returncode != 0 or not report.get("ok") or report.get("events") != len(events):
        fail(f"verify-log: {out.stdout} {out.stderr}")
    passed(f"reetrace verify-log holds: {report['events']} events, {report['subjects']} subject chains, "
           f"signed checkpoint of size {report['checkpoint_size']}")

    # The stock projections equal a recount, in SQL, from the passport and custody tables.
    passed(stock_recount(regulator))
    return results


def deposits_check():
    """Every acknowledged deposit stored once, at its acknowledged version, and nothing else: in
    the database, the API's list and the GeoJSON export; a sample of credentials verifies."""
    if not deposits:
        fail("the workload recorded no deposit")
    rows = sql("SELECT d.deposit_id, count(v.version), max(v.version), min(v.name), max(v.name) "
               "FROM deposits d JOIN deposit_versions v ON v.deposit_id = d.deposit_id GROUP BY d.deposit_id")
    stored = {r[0]: (r[3], int(r[2])) for r in rows}
    if any(int(r[1]) != int(r[2]) or r[3] != r[4] for r in rows):
        fail(f"deposits with a gap in their versions or a changed name: {[r for r in rows if int(r[1]) != int(r[2])][:5]}")
    if stored != deposits:
        missing = [d for d in deposits if d not in stored]
        ghosts = [d for d in stored if d not in deposits]
        other = [d for d in deposits if d in stored and stored[d] != deposits[d]]
        fail(f"acknowledged vs stored deposits: {len(missing)} missing, {len(ghosts)} never acknowledged, "
             f"{len(other)} at another version, e.g. {(missing + ghosts + other)[:3]}")
    twice = sql(f"SELECT name FROM deposit_versions WHERE name LIKE 'Pond {RUN_TAG}-%' "
                "GROUP BY name HAVING count(DISTINCT deposit_id) > 1")
    if twice:
        fail(f"deposits recorded twice: {twice[:5]}")
    listed, cursor, nd_kg = {}, None, 0.0
    while True:
        status, page, _ = call("check", "GET", "/api/v1/deposits?limit=500" + (f"&cursor={cursor}" if cursor else ""))
        if status != 200:
            fail(f"list deposits: {status} {page}")
        listed.update({item["id"]: (item["name"], item["version"]) for item in page["items"]})
        nd_kg += sum(c["content_kg"] for item in page["items"] for c in item["content"] if c["element"] == "Nd")
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if listed != deposits:
        fail(f"the deposit list ({len(listed)}) differs from the acknowledged deposits ({len(deposits)})")
    status, geo, _ = call("check", "GET", "/api/v1/deposits.geojson")
    if status != 200 or sorted(f["id"] for f in geo["features"]) != sorted(deposits):
        fail(f"the GeoJSON export ({status}) differs from the acknowledged deposits")
    verified = 0
    for deposit_id in list(deposits)[:: max(1, len(deposits) // 8)]:
        status, credential, _ = call("check", "GET", f"/api/v1/deposits/{deposit_id}/credential")
        if status != 200 or credential["credentialSubject"]["version"] != deposits[deposit_id][1]:
            fail(f"credential of deposit {deposit_id}: {status} {str(credential)[:200]}")
        status, result, _ = call("check", "POST", "/credentials/verify", body={"verifiableCredential": credential})
        if status != 200 or not result.get("verified"):
            fail(f"the credential of deposit {deposit_id} does not verify: {status} {result}")
        verified += 1
    # The stock service's copy (from the deposits feed, read over the gateway while deposits
    # instances died): every deposit once, at its acknowledged version.
    deadline, stock = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        status, answer, _ = call("check", "GET", "/api/v1/stock/secondary-resources?country=HU&element=Nd")
        if status != 200:
            fail(f"stock secondary resources: {status} {answer}")
        stock = answer["rows"][0]["in_deposits"] if answer["rows"] else None
        if stock and stock["deposits"] == len(deposits) and abs(stock["value"] - nd_kg) <= 1e-9 * nd_kg:
            break
        time.sleep(0.5)
    else:
        fail(f"the stock service's deposits ({stock}) differ from the list's after 30 s: "
             f"{len(deposits)} deposits, {nd_kg} kg of Nd")
    versions = collections.Counter(v for _, v in deposits.values())
    return (f"{len(deposits)} acknowledged deposits stored once at their acknowledged version "
            f"({versions[1]} at version 1, {versions[2]} at version 2), no other (database, API list, GeoJSON); "
            f"{verified} of their credentials verify; the stock service counts each once at that version "
            f"({nd_kg:.1f} kg of Nd)")


# Observed flows recounted from the source tables, per (flow, year, country, category, element),
# in micrograms. Passports: the element totals of each current signed version (v1 or v2), once
# per item (units times for batches), revoked ones left out, in the market year. Product steps: the
# passport content of the product the event names, in the year of the event. Transformations (in
# the year they happened): a product input's declared elements go to its passport's category and
# country, a lot input's and a recycling output's elements by the lot's origin shares, and the
# recorded losses to the origin of the transformation's input (the workload's transformations
# have one input each; the recount refuses any other).
RECOUNT = r"""
WITH held AS (
  -- Passports whose events a stock consumer kept in quarantine: not in the figures, so not in
  -- the recount either (the check says how many there were).
  SELECT DISTINCT subject::uuid AS id FROM feed_quarantine
  WHERE consumer LIKE 'stock.%' AND subject ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
), cur AS (
  SELECT p.id, p.status, p.granularity, p.category, p.country,
         extract(year FROM p.placed_on_market)::int AS year, v.credential::jsonb -> 'credentialSubject' AS s,
         v.placement::jsonb -> 'credentialSubject' AS pl
  FROM passports p JOIN passport_versions v ON v.passport_id = p.id AND v.version = p.version
), elements AS (
  -- v1: the subject's ree_content; v2: the rare earths of materialsProvenance (exact grams),
  -- the units in the placement declaration.
  SELECT cur.*, e ->> 'element' AS element, e ->> 'mass_g' AS grams
  FROM cur, jsonb_array_elements(s -> 'ree_content' -> 'elements') e WHERE pl IS NULL
  UNION ALL
  SELECT cur.*, m -> 'materialType' ->> 'code', m ->> 'ree:massGrams'
  FROM cur, jsonb_array_elements(s -> 'materialsProvenance') m
  WHERE pl IS NOT NULL AND m -> 'materialType' ->> 'code' IN
    ('Sc', 'Y', 'La', 'Ce', 'Pr', 'Nd', 'Pm', 'Sm', 'Eu', 'Gd', 'Tb', 'Dy', 'Ho', 'Er', 'Tm', 'Yb', 'Lu')
), content AS (
  SELECT id, category, country, year, element,
         round(grams::numeric * 1000000)::bigint AS ug,
         CASE granularity WHEN 'item' THEN 1
              WHEN 'batch' THEN coalesce((pl ->> 'ree:units')::bigint, (s -> 'product' ->> 'units')::bigint, 1)
              ELSE 0 END AS units
  FROM elements
  WHERE status <> 'revoked' AND id NOT IN (SELECT id FROM held)
), placed AS (
  SELECT 'placed_on_market' AS flow, year, country, category, element, sum(ug * units) AS ug
  FROM content GROUP BY 2, 3, 4, 5
), steps AS (
  SELECT CASE e.action WHEN 'collect' THEN 'collected' WHEN 'sort' THEN 'sorted'
                       WHEN 'destroy' THEN 'destroyed' ELSE 'exported' END AS flow,
         extract(year FROM e.event_time AT TIME ZONE 'UTC')::int AS year,
         c.country, c.category, c.element, sum(c.ug * c.units) AS ug
  FROM custody_events e
  JOIN custody_event_epcs x ON x.leaf_index = e.leaf_index AND x.role = 'epc'
  JOIN custody_products cp ON cp.epc = x.epc
  JOIN content c ON c.id = cp.passport_id
  WHERE e.action IN ('collect', 'sort', 'destroy', 'export')
  GROUP BY 1, 2, 3, 4, 5
), t AS (
  SELECT id, process, extract(year FROM at AT TIME ZONE 'UTC')::int AS year, inputs::jsonb -> 0 AS input,
         outputs::jsonb AS outputs, losses::jsonb AS losses
  FROM custody_transformations
), input_origin AS (
  SELECT t.id, p.category, p.country, 1000000::bigint AS ppm
  FROM t JOIN passports p ON p.id = (t.input ->> 'passport_id')::uuid
  UNION ALL
  SELECT t.id, o ->> 'category', o ->> 'country', (o ->> 'share_ppm')::bigint
  FROM t JOIN custody_lots l ON l.lot_id = (t.input ->> 'lot_id')::uuid, jsonb_array_elements(l.origin::jsonb) o
), masses AS (
  SELECT CASE t.process WHEN 'dismantling' THEN 'dismantled' ELSE 'recycling_input' END AS flow,
         t.id, t.year, e AS amount FROM t, jsonb_array_elements(t.input -> 'elements') e
  UNION ALL
  SELECT 'losses', t.id, t.year, e FROM t, jsonb_array_elements(t.losses) e
), transformed AS (
  SELECT m.flow, m.year, i.country, i.category, m.amount ->> 'element' AS element,
         sum(round((m.amount ->> 'mass_g')::numeric * 1000000)::bigint * i.ppm / 1000000) AS ug
  FROM masses m JOIN input_origin i ON i.id = m.id
  GROUP BY 1, 2, 3, 4, 5
  UNION ALL
  SELECT 'recycled', t.year, o ->> 'country', o ->> 'category', e ->> 'element',
         sum(round((e ->> 'mass_g')::numeric * 1000000)::bigint * (o ->> 'share_ppm')::bigint / 1000000)
  FROM t, jsonb_array_elements(t.outputs) op JOIN custody_lots l ON l.lot_id = (op ->> 'lot_id')::uuid,
       jsonb_array_elements(l.origin::jsonb) o, jsonb_array_elements(op -> 'elements') e
  WHERE t.process = 'recycling'
  GROUP BY 1, 2, 3, 4, 5
), everything AS (
  SELECT * FROM placed UNION ALL SELECT * FROM steps UNION ALL SELECT * FROM transformed
)
SELECT flow, year, country, category, element, sum(ug) FROM everything
GROUP BY 1, 2, 3, 4, 5 HAVING sum(ug) <> 0 ORDER BY 1, 2, 3, 4, 5
"""


def stock_recount(regulator):
    several = sql("SELECT count(*) FROM custody_transformations WHERE jsonb_array_length(inputs::jsonb) <> 1")
    if several[0][0] != "0":
        fail("the recount handles transformations of one input only")
    quarantined = int(sql("SELECT count(*) FROM feed_quarantine")[0][0])
    expected = {tuple(r[:5]): int(r[5]) for r in sql(RECOUNT)}
    if not expected:
        fail("the recount found nothing")
    flows = sorted({k[0] for k in expected})
    deadline = time.time() + 30
    while True:
        status, answer, _ = call("check", "GET", "/api/v1/stock/flows?group_by=year,country,category,element"
                                 "&basis=observed", regulator)
        if status != 200:
            fail(f"stock flows: {status} {answer}")
        got = {}
        for row in answer["rows"]:
            if row.get("suppressed"):
                fail(f"a cell is withheld with k=1: {row}")
            if row.get("value"):
                got[(row["flow"], str(row["year"]), row["country"], row["category"], row["element"])] = \
                    round(row["value"] * 1e9)
        if got == expected:
            break
        if time.time() > deadline:
            differ = sorted(set(got) ^ set(expected) | {k for k in got if k in expected and got[k] != expected[k]})
            fail("stock flows differ from the recount after 30 s: " + "; ".join(
                f"{k}: stock {got.get(k)} µg, recount {expected.get(k)} µg" for k in differ[:8]))
        time.sleep(0.5)
    total = {f: sum(v for k, v in expected.items() if k[0] == f) / 1e9 for f in flows}
    return (f"stock flows equal the SQL recount in all {len(expected)} cells "
            f"({', '.join(f'{f} {kg:.4f} kg' for f, kg in total.items())}); "
            f"events in quarantine, left out of both: {quarantined}")


def retried_by_gateway():
    """Requests nginx sent to a second instance (its upstream list has two entries)."""
    out = []
    with open(os.path.join(RUN, "nginx-access.log")) as log:
        for line in log:
            if 'upstreams="' in line and "," in line.split('upstreams="', 1)[1].split('"', 1)[0]:
                stamp, status, rest = line.split(" ", 2)
                out.append(f"{float(stamp) - T0:6.1f}s {status} {rest.strip()}")
    return out


def summary(elapsed, results):
    by_kind = collections.Counter(a[1] for a in answers if a[1] not in ("check", "setup", "replay probe"))
    statuses = collections.Counter((a[4] // 100) * 100 if a[4] > 0 else a[4] for a in answers)
    print("\n== summary ==")
    print(f"workload: {sum(by_kind.values())} requests in {elapsed:.1f} s through the gateway: "
          + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())))
    print(f"answers by class: {dict(sorted(statuses.items()))} (0 = connection failed, -1 = a client's deliberately short timeout)")
    print(f"written: {len(registered)} passports, {len(events)} custody events, "
          f"{len(chains_done)} products dismantled and recycled, {len(deposits)} residue deposits")
    print("faults:")
    for at, what in faults:
        print(f"  {at}  {what}")
    print("lease changes (background work moving between instances; none = lapsed):")
    for at, name, holder in lease_changes:
        print(f"  {at}  {name}: {holder or 'none'}")
    gateway_retries = retried_by_gateway()
    print(f"requests nginx passed to the other instance after a failure: {len(gateway_retries)}")
    for line in gateway_retries[:10]:
        print(f"  {line}")
    print("checked:")
    for text in results:
        print(f"  - {text}")


if __name__ == "__main__":
    main()
