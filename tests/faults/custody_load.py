#!/usr/bin/env python3
"""Sustained custody load for tests/faults/kill_capture.sh, and the check that follows it.

Standard library only.

  custody_load.py load  --base URL --maker KEY --recycler ID:KEY --recycler ID:KEY
                        --products N --workers N --duration S --acks FILE [--ready FILE]
  custody_load.py check --base URL --key KEY --acks FILE

`load` registers N products, then W workers each step their own products round the custody
cycle (collect, then handover and accept between the recyclers, over and over) until the
deadline. Every step carries an Idempotency-Key and is retried with the same key and body
until it gets a definite answer, so a request that was committed just before the server died
is answered (replayed) after the restart instead of being recorded twice. Each 201 is appended
to the acks file (one JSON line, flushed) before the worker moves on.

`check` reads the whole log through the API and fails unless every acknowledged event is in
it exactly once, on the leaf it was acknowledged with, and nothing else is; and unless every
product's custody is what its last acknowledged step said.
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

RETRY_FOR = 120.0  # seconds a request keeps being retried (the server is being restarted)


class Client:
    """One keep-alive connection per thread; reconnects after any failure."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.conn = None

    def request(self, method, path, key=None, body=None, headers=None):
        """Returns (status, parsed body, headers); raises OSError-like on transport failure."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
        all_headers = {"accept": "application/json"}
        if key:
            all_headers["authorization"] = "Bearer " + key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        all_headers.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise ConnectionError(f"{method} {path}")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, parsed, response.headers


def definite(client, method, path, key, body=None, headers=None):
    """Retries transport failures and 5xx until a definite answer (or RETRY_FOR elapses)."""
    deadline = time.monotonic() + RETRY_FOR
    retries = 0
    while True:
        try:
            status, parsed, response_headers = client.request(method, path, key, body, headers)
            if status < 500 and status != 408:
                return status, parsed, response_headers, retries
        except ConnectionError:
            pass
        retries += 1
        if time.monotonic() > deadline:
            raise SystemExit(f"no definite answer to {method} {path} in {RETRY_FOR} s")
        time.sleep(0.2)


def motor(serial):
    return {
        "granularity": "item",
        "product": {"gtin": "04012345000016", "serial": serial, "name": "Traction motor",
                    "category": "ev_traction_motor", "net_mass_g": 48000,
                    "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
        "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered",
                                        "mass_g": 1500,
                                        "elements": [{"element": "Nd", "mass_g": 337.5},
                                                     {"element": "Pr", "mass_g": 105}]}]},
    }


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = 0
        self.replayed = 0
        self.retried = 0
        self.errors = []


def worker(args, recyclers, products, acks, stats, deadline, first_second):
    client = Client(args.base)
    # Per product: who holds it (index into recyclers), and whether a handover is pending.
    holder = {p: None for p in products}
    pending = {p: False for p in products}
    second = first_second
    while time.time() < deadline:
        for product in products:
            if time.time() >= deadline:
                break
            second += 1
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
            if holder[product] is None:
                actor, body = 0, {"action": "collect", "at": at}
            elif pending[product]:
                actor, body = 1 - holder[product], {"action": "accept", "at": at}
            else:
                actor = holder[product]
                body = {"action": "handover", "at": at, "to_org": recyclers[1 - actor][0]}
            idem = str(uuid.uuid4())
            status, answer, headers, retries = definite(
                client, "POST", f"/api/v1/custody/{product}/events", recyclers[actor][1], body,
                {"idempotency-key": idem})
            replayed = headers.get("idempotent-replayed") == "true"
            if status != 201:
                with stats.lock:
                    stats.errors.append(f"{product} {body['action']}: {status} {answer}")
                return
            line = json.dumps({"product": product, "event_id": answer["event_id"],
                               "leaf_index": answer["leaf_index"], "custody": answer["custody"],
                               "replayed": replayed})
            with stats.lock:
                acks.write(line + "\n")
                acks.flush()
                stats.acked += 1
                stats.replayed += int(replayed)
                stats.retried += int(retries > 0)
            if body["action"] == "collect":
                holder[product] = 0
            elif body["action"] == "handover":
                pending[product] = True
            else:
                holder[product], pending[product] = actor, False


def load(args):
    recyclers = [tuple(r.split(":", 1)) for r in args.recycler]
    if len(recyclers) != 2:
        raise SystemExit("give two --recycler ID:KEY")
    client = Client(args.base)
    products = []
    run = uuid.uuid4().hex[:8]
    for i in range(args.products):
        status, body, _, _ = definite(client, "POST", "/api/v1/passports", args.maker,
                                      motor(f"FAULT-{run}-{i}"))
        if status != 201:
            raise SystemExit(f"registration answered {status}: {body}")
        products.append(body["id"])
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")
    stats = Stats()
    started = time.time()
    deadline = started + args.duration
    with open(args.acks, "a") as acks:
        threads = []
        for w in range(args.workers):
            own = products[w::args.workers]
            # Event times: each worker its own range of seconds, so no two steps are the same
            # EPCIS event (same product, step, holder and time).
            first = 2_250_000_000 + w * 10_000_000
            t = threading.Thread(target=worker,
                                 args=(args, recyclers, own, acks, stats, deadline, first))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    elapsed = time.time() - started
    print(json.dumps({"acknowledged": stats.acked, "replayed": stats.replayed,
                      "retried": stats.retried, "errors": stats.errors,
                      "seconds": round(elapsed, 1),
                      "steps_per_second": round(stats.acked / elapsed, 1)}))
    return 1 if stats.errors else 0


def check(args):
    client = Client(args.base)
    acks = [json.loads(line) for line in open(args.acks) if line.strip()]
    problems = []
    status, checkpoint, _, _ = definite(client, "GET", "/api/v1/log/checkpoint", None)
    if status != 200:
        problems.append(f"GET /api/v1/log/checkpoint answered {status}")
    stored = {}
    duplicates = 0
    start = 0
    while True:
        status, page, _, _ = definite(client, "GET", f"/api/v1/log/entries?from={start}&limit=1000",
                                      args.key)
        if status != 200:
            raise SystemExit(f"GET /api/v1/log/entries answered {status}: {page}")
        if not page:
            break
        for entry in page:
            if entry["event_id"] in stored:
                duplicates += 1
                problems.append(f"event {entry['event_id']} is stored twice")
            stored[entry["event_id"]] = entry["leaf_index"]
        start = page[-1]["leaf_index"] + 1
    acked = {}
    for ack in acks:
        if ack["event_id"] in acked and acked[ack["event_id"]] != ack["leaf_index"]:
            problems.append(f"event {ack['event_id']} was acknowledged on two leaves")
        acked[ack["event_id"]] = ack["leaf_index"]
    missing = [e for e in acked if e not in stored]
    moved = [e for e in acked if e in stored and stored[e] != acked[e]]
    ghosts = [e for e in stored if e not in acked]
    problems += [f"acknowledged event {e} is not stored" for e in missing[:20]]
    problems += [f"acknowledged event {e} is stored on another leaf" for e in moved[:20]]
    problems += [f"event {e} is stored but was never acknowledged" for e in ghosts[:20]]
    # Each product ends where its last acknowledged step left it.
    last = {}
    for ack in acks:
        if ack["product"] not in last or ack["leaf_index"] > last[ack["product"]]["leaf_index"]:
            last[ack["product"]] = ack
    for product, ack in last.items():
        status, scan, _, _ = definite(client, "GET", f"/api/v1/custody/{product}", args.key)
        if status != 200:
            problems.append(f"scan of {product} answered {status}")
            continue
        if scan["custody"] != ack["custody"]:
            problems.append(f"{product} is {scan['custody']}, its last step said {ack['custody']}")
    report = {"acknowledged": len(acked), "acknowledgements": len(acks),
              "replayed": sum(1 for a in acks if a["replayed"]),
              "stored": len(stored), "stored_twice": duplicates,
              "checkpoint_size": (checkpoint or {}).get("tree_size"),
              "missing": len(missing), "not_acknowledged": len(ghosts),
              "ok": not problems, "problems": problems}
    print(json.dumps(report, indent=2))
    return 0 if not problems else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("load")
    p.add_argument("--base", required=True)
    p.add_argument("--maker", required=True)
    p.add_argument("--recycler", action="append", required=True)
    p.add_argument("--products", type=int, default=32)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--acks", required=True)
    p.add_argument("--ready")
    c = sub.add_parser("check")
    c.add_argument("--base", required=True)
    c.add_argument("--key", required=True)
    c.add_argument("--acks", required=True)
    args = parser.parse_args()
    sys.exit(load(args) if args.command == "load" else check(args))


if __name__ == "__main__":
    main()
