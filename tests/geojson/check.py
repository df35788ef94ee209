#!/usr/bin/env python3
"""The deposits' GeoJSON as a GIS reads it: GDAL's `ogrinfo` (Debian's gdal-bin) on
`/api/v1/deposits.geojson` of a server loaded with `reetrace demo`.

    python3 tests/geojson/check.py BINARY              # the demo's deposits
    python3 tests/geojson/check.py BINARY --self-test  # broken copies of it must fail

Loads `reetrace demo --products 1` (its deposits are the same at any size) into a fresh SQLite
database in a temporary directory, serves it, and reads the deposits through the API (every
page) and the GeoJSON export. The export holds when `ogrinfo -ro -al -so` opens it with the
GeoJSON driver without an error or a warning (unclosed rings refused), counts as many features
as the API lists, and GDAL's own reading of every geometry gives the API's geometry types
(Point, Polygon) in the API's numbers and the API's deposit ids. `--self-test` then checks that
the same check fails on broken copies of the export: cut short, a feature left out, a geometry
garbled, a ring left open. Standard library only. Exit 0 when everything holds.
"""

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# Unclosed rings are an error, not the warning GDAL gives by default.
OGR = ["--config", "OGR_GEOMETRY_ACCEPT_UNCLOSED_RING", "NO"]


class Refused(Exception):
    """The export does not hold; says why."""


def ogrinfo(*args):
    out = subprocess.run(["ogrinfo", *OGR, *args], capture_output=True, text=True)
    said = [line for line in (out.stdout + out.stderr).splitlines()
            if line.startswith(("ERROR", "Warning", "FAILURE"))]
    if out.returncode != 0 or said:
        raise Refused(f"ogrinfo {' '.join(args)} (exit {out.returncode}): {said or out.stderr.strip()}")
    return out.stdout


def check(path, deposits):
    """Checks the GeoJSON file at `path` against the API's `deposits` (its list items)."""
    layer = os.path.splitext(os.path.basename(path))[0]
    summary = ogrinfo("-ro", "-al", "-so", path)
    if "using driver `GeoJSON' successful" not in summary:
        raise Refused(f"not opened as GeoJSON: {summary[:300]}")
    counts = [line.split(":", 1)[1].strip() for line in summary.splitlines() if line.startswith("Feature Count:")]
    if counts != [str(len(deposits))]:
        raise Refused(f"ogrinfo counts {counts} features, the API lists {len(deposits)} deposits")
    if 'ID["EPSG",4326]' not in summary:
        raise Refused("the layer is not in WGS 84 (EPSG:4326)")

    rows = ogrinfo("-ro", path, "-dialect", "SQLite", "-sql",
                   f'SELECT id, GeometryType(geometry) AS g FROM "{layer}"')
    ids, types = [], collections.Counter()
    for line in rows.splitlines():
        line = line.strip()
        if line.startswith("id (String) = "):
            ids.append(line.split(" = ", 1)[1])
        elif line.startswith("g (String) = "):
            types[line.split(" = ", 1)[1]] += 1
    expected = collections.Counter(d["location"]["geometry"]["type"].upper() for d in deposits)
    if types != expected:
        raise Refused(f"GDAL reads the geometries as {dict(types)}, the API has {dict(expected)}")
    if sorted(ids) != sorted(d["id"] for d in deposits):
        raise Refused("the features' ids are not the API's deposits")
    return f"{len(deposits)} features, geometries {dict(sorted(types.items()))}"


def broken_copies(text):
    """Broken copies of a valid export: (what is wrong, GeoJSON text)."""
    collection = json.loads(text)
    features = collection["features"]
    polygon = next(i for i, f in enumerate(features) if f["geometry"]["type"] == "Polygon")
    point = next(i for i, f in enumerate(features) if f["geometry"]["type"] == "Point")

    def changed(edit):
        copy = json.loads(text)
        edit(copy["features"])
        return json.dumps(copy)

    def open_ring(fs):
        fs[polygon]["geometry"]["coordinates"][0].pop()

    return [
        ("cut short", text[: len(text) // 2]),
        ("a feature left out", changed(lambda fs: fs.pop())),
        ("a point garbled", changed(lambda fs: fs[point]["geometry"].update(coordinates="east"))),
        ("a polygon's ring left open", changed(open_ring)),
    ]


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return response.read()


def serve_demo(binary, work):
    """Loads the demo into `work`, serves it; returns (process, base URL)."""
    env = {**os.environ, "REETRACE_LOG": "warn",
           "REETRACE_DATABASE_URL": f"sqlite://{os.path.join(work, 'demo.db')}"}
    demo = subprocess.run([binary, "demo", "--products", "1"], cwd=work, env=env,
                          capture_output=True, text=True)
    if demo.returncode != 0:
        raise Refused(f"reetrace demo: {demo.stderr[-2000:]}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise Refused(f"reetrace serve exited with {server.returncode}")
        try:
            get(base, "/readyz")
            return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise Refused("reetrace serve did not become ready")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server, base = serve_demo(os.path.abspath(args.binary), work)
        try:
            deposits, cursor = [], None
            while True:
                page = json.loads(get(base, "/api/v1/deposits?limit=500" + (f"&cursor={cursor}" if cursor else "")))
                deposits += page["items"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            text = get(base, "/api/v1/deposits.geojson").decode()
        finally:
            server.terminate()
            server.wait(timeout=30)
        if not deposits:
            print("FAIL: the demo recorded no deposits")
            return 1
        path = os.path.join(work, "deposits.geojson")
        with open(path, "w") as f:
            f.write(text)
        try:
            print(f"ogrinfo reads the demo's deposits.geojson: {check(path, deposits)}")
        except Refused as e:
            print(f"FAIL: {e}")
            return 1
        if not args.self_test:
            return 0
        for what, broken in broken_copies(text):
            path = os.path.join(work, "broken.geojson")
            with open(path, "w") as f:
                f.write(broken)
            try:
                check(path, deposits)
            except Refused as e:
                print(f"refused as it should, {what}: {str(e)[:160]}")
                continue
            print(f"FAIL: the check passed a broken export ({what})")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
