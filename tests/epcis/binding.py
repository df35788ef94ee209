#!/usr/bin/env python3
"""Follows the EPCIS 2.0 REST binding literally against a running `reetrace serve`.

    python3 tests/epcis/binding.py check BINARY    # capture asynchronously, poll, query
    python3 tests/epcis/binding.py kill BINARY     # SIGKILL during asynchronous capture

Both start BINARY (`reetrace`) on a fresh SQLite database in a temporary directory (or on
--database-url), make the organisations they need with `reetrace admin org create`, and talk
to the server only through HTTP as an EPCIS client would: `POST /epcis/2.0/capture` (202 and
`Location`), `GET` the capture job until it stops running, `GET /epcis/2.0/events` with every
supported parameter of the simple event query (sensor data, extension fields nested or not,
`orderBy` on an extension field), the `Link` header to page, and the `QueryParameterException`
for what is not supported.

`kill` accepts many capture jobs, kills the server with SIGKILL while it captures them,
starts it again, and checks that every accepted job completes, exactly once: each job's
report says its events were captured (not found as duplicates of an earlier attempt), and
the repository holds every event once. Standard library only. Exit 0 when everything holds.
"""

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SGTIN = "urn:epc:id:sgtin:0614141.107346"
CLASS = "urn:epc:class:lgtin:4012345.012345"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
QUERY_EXCEPTION = "epcisException:QueryParameterException"
REC = "https://ns.recycler.example/epcis/"


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


class Server:
    """One `reetrace serve` on a port of its own."""

    def __init__(self, binary, database_url, work):
        self.binary = binary
        self.work = work
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "REETRACE_DATABASE_URL": database_url,
            "REETRACE_PUBLIC_BASE_URL": self.base,
            "REETRACE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "REETRACE_RATE_LIMIT_PER_SECOND": "100000",
            "REETRACE_RATE_LIMIT_BURST": "100000",
            "REETRACE_ADDRESS_RATE_LIMIT_PER_SECOND": "0",
            "REETRACE_LOG": os.environ.get("REETRACE_LOG", "warn"),
        }
        self.proc = None

    def cli(self, *args):
        out = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            fail(f"reetrace {' '.join(args)}: {out.stderr}")
        return out.stdout

    def org(self, name, role):
        return json.loads(self.cli("admin", "org", "create", "--name", name, "--role", role))["api_key"]

    def start(self):
        log = open(os.path.join(self.work, "server.log"), "a")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=log, stderr=log)
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        fail("the server did not come up: " + open(os.path.join(self.work, "server.log")).read()[-2000:])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def request(method, url, key, body=None, headers=None):
    """(status, headers, parsed JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        req.add_header("Content-Type", "application/ld+json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            text = response.read()
            return response.status, response.headers, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, e.headers, json.loads(text) if text else None


def document(events, context=CONTEXT):
    return {"@context": context, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-09-01T08:00:00Z", "epcisBody": {"eventList": events}}


def capture(server, key, events, behaviour="rollback", context=CONTEXT):
    """POST /capture as the binding has it; returns the job's URL from Location."""
    status, headers, body = request("POST", f"{server.base}/epcis/2.0/capture", key,
                                    document(events, context), {"GS1-Capture-Error-Behaviour": behaviour})
    if status != 202:
        fail(f"capture answered {status}: {body}")
    location = headers.get("Location")
    if not location or not location.startswith(f"{server.base}/epcis/2.0/capture/"):
        fail(f"capture gave no job Location: {location}")
    return location


def finished(key, location, timeout=120):
    """Polls a capture job until it stops running."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, job = request("GET", location, key)
        if status != 200:
            fail(f"GET {location}: {status} {job}")
        for field in ("captureID", "createdAt", "running", "success", "captureErrorBehaviour", "errors"):
            if field not in job:
                fail(f"the capture job has no {field}: {job}")
        if not job["running"]:
            if "finishedAt" not in job:
                fail(f"a finished job without finishedAt: {job}")
            return job
        time.sleep(0.2)
    fail(f"capture job {location} still running after {timeout} s")


def sample_events():
    """Events of another company's goods that the parameters tell apart (by day)."""
    return [
        {"type": "ObjectEvent", "action": "ADD", "eventTime": "2026-09-01T10:00:00Z",
         "eventTimeZoneOffset": "+00:00", "eventID": "urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-000000000001",
         "epcList": [f"{SGTIN}.2017"], "bizStep": "shipping", "disposition": "in_transit",
         "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
         "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
         "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
         "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
         "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
         "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00002"}],
         "quantityList": [{"epcClass": f"{CLASS}.1", "quantity": 200, "uom": "KGM"}]},
        {"type": "AggregationEvent", "action": "ADD", "eventTime": "2026-09-02T10:00:00Z",
         "eventTimeZoneOffset": "+00:00", "parentID": "urn:epc:id:sscc:0614141.1234567890",
         "childEPCs": [f"{SGTIN}.2018"], "bizStep": "packing", "disposition": "in_progress",
         "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.5678"},
         "childQuantityList": [{"epcClass": f"{CLASS}.2", "quantity": 10}]},
        {"type": "TransformationEvent", "eventTime": "2026-09-03T10:00:00Z",
         "eventTimeZoneOffset": "+00:00", "transformationID": "urn:epc:id:gdti:0614141.12345.400",
         "inputEPCList": [f"{SGTIN}.2019"], "outputEPCList": [f"{SGTIN}.2020"],
         "inputQuantityList": [{"epcClass": f"{CLASS}.3", "quantity": 5}],
         "outputQuantityList": [{"epcClass": f"{CLASS}.4", "quantity": 4}], "bizStep": "commissioning"},
        {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-09-04T10:00:00Z",
         "eventTimeZoneOffset": "+00:00", "epcList": [f"{SGTIN}.2021"], "bizStep": "inspecting"},
    ]


def sensor_events():
    """Events with sensor reports and `rec:` extension fields, in log order 12, 11, 13, 14."""
    def observed(day, **extra):
        return {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": f"2026-09-{day}T10:00:00Z",
                "eventTimeZoneOffset": "+00:00", "epcList": [f"{SGTIN}.40{day}"], "bizStep": "inspecting",
                **extra}
    return [
        observed("12", **{"rec:grade": 10, "sensorElementList": [
            {"sensorReport": [{"type": "Temperature", "value": 12, "uom": "CEL"}]}]}),
        observed("11", **{"rec:grade": 2, "rec:batch": {"rec:furnace": "F1"}, "sensorElementList": [
            {"sensorMetadata": {"time": "2026-09-11T09:00:00Z", "deviceID": "urn:epc:id:giai:4000001.111"},
             "sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL", "rec:probe": "P-7"},
                              {"type": "RelativeHumidity", "value": 40, "uom": "P1"}]}]}),
        observed("13", **{"rec:grade": "2"}),
        observed("14"),
    ]


def events_of(server, key, params):
    """Every event a query answers, following Link rel="next"; by day (`!`: a declaration)."""
    url = f"{server.base}/epcis/2.0/events"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    days = []
    while url:
        status, headers, body = request("GET", url, key)
        if status != 200:
            fail(f"GET {url}: {status} {body}")
        if body.get("type") != "EPCISQueryDocument":
            fail(f"not an EPCISQueryDocument: {body}")
        for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]:
            days.append(e["eventTime"][8:10] + ("!" if "errorDeclaration" in e else ""))
        link = headers.get("Link")
        url = None
        if link:
            if not link.endswith('rel="next"'):
                fail(f"a Link that is not rel=next: {link}")
            url = link[1:link.index(">")]
    return days


def values_of(server, key, collection):
    """Every value of a collection of the binding, one a page, following Link rel="next"."""
    url = f"{server.base}/epcis/2.0/{collection}?perPage=1"
    values = []
    while url:
        status, headers, body = request("GET", url, key)
        if status != 200 or not isinstance(body, list):
            fail(f"GET {url}: {status} {body}")
        values.extend(body)
        link = headers.get("Link")
        url = link[1:link.index(">")] if link else None
    return values


def check(server):
    recorder = server.org("Binding Recycling", "recycler")
    job = finished(recorder, capture(server, recorder, sample_events()))
    if not job["success"] or job["errors"]:
        fail(f"the capture job failed: {job}")
    print(f"capture job {job['captureID']}: success, finished {job['finishedAt']}")

    declaration = dict(sample_events()[0])
    declaration["errorDeclaration"] = {"declarationTime": "2026-09-05T08:00:00Z", "reason": "incorrect_data",
                                       "correctiveEventIDs": ["urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-0000000000c1"]}
    job = finished(recorder, capture(server, recorder, [declaration]))
    if not job["success"]:
        fail(f"the error declaration failed: {job}")

    broken = dict(sample_events()[3], action="WATCH", eventTime="2026-09-06T10:00:00Z")
    job = finished(recorder, capture(server, recorder, [broken]))
    if job["success"] or not job["errors"] or job["errors"][0].get("index") != 0:
        fail(f"a broken event should fail its job with its index: {job}")

    cases = [
        ({}, ["01", "02", "03", "04", "01!"]),
        ({"eventType": "AggregationEvent|TransformationEvent"}, ["02", "03"]),
        ({"GE_eventTime": "2026-09-02T00:00:00Z", "LT_eventTime": "2026-09-04T00:00:00Z"}, ["02", "03"]),
        ({"GE_recordTime": "2020-01-01T00:00:00Z", "LT_recordTime": "2100-01-01T00:00:00Z",
          "eventType": "TransformationEvent"}, ["03"]),
        ({"EQ_action": "OBSERVE"}, ["04"]),
        ({"EQ_bizStep": "packing"}, ["02"]),
        ({"EQ_disposition": "in_progress"}, ["02"]),
        ({"EQ_persistentDisposition_set": "completeness_verified"}, ["01", "01!"]),
        ({"EQ_persistentDisposition_unset": "completeness_inferred"}, ["01", "01!"]),
        ({"EQ_readPoint": "urn:epc:id:sgln:0614141.07346.5678"}, ["02"]),
        ({"EQ_bizLocation": "urn:epc:id:sgln:0614141.00888.0"}, ["01", "01!"]),
        ({"EQ_transformationID": "urn:epc:id:gdti:0614141.12345.400"}, ["03"]),
        ({"MATCH_epc": f"{SGTIN}.2018"}, ["02"]),
        ({"MATCH_parentID": "urn:epc:id:sscc:0614141.1234567890"}, ["02"]),
        ({"MATCH_inputEPC": f"{SGTIN}.2019"}, ["03"]),
        ({"MATCH_outputEPC": f"{SGTIN}.2020"}, ["03"]),
        ({"MATCH_anyEPC": "urn:epc:idpat:sgtin:0614141.107346.*"}, ["01", "02", "03", "04", "01!"]),
        ({"MATCH_epcClass": f"{CLASS}.2"}, ["02"]),
        ({"MATCH_inputEPCClass": f"{CLASS}.3"}, ["03"]),
        ({"MATCH_outputEPCClass": f"{CLASS}.4"}, ["03"]),
        ({"MATCH_anyEPCClass": f"{CLASS}.4"}, ["03"]),
        ({"EQ_quantity": "10"}, ["02"]),
        ({"GT_quantity": "10", "EQ_action": "ADD"}, ["01", "01!"]),
        ({"GE_quantity": "10", "LE_quantity": "10"}, ["02"]),
        ({"LT_quantity": "5"}, ["03"]),
        ({"EQ_eventID": "urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-000000000001"}, ["01", "01!"]),
        ({"EXISTS_errorDeclaration": ""}, ["01!"]),
        ({"GE_errorDeclarationTime": "2026-09-05T00:00:00Z", "LT_errorDeclarationTime": "2026-09-06T00:00:00Z"}, ["01!"]),
        # The query schema's spelling of the same parameters.
        ({"GE_errorDeclaration_Time": "2026-09-05T00:00:00Z", "LT_errorDeclaration_Time": "2026-09-06T00:00:00Z"},
         ["01!"]),
        ({"EQ_errorReason": "incorrect_data"}, ["01!"]),
        ({"EQ_correctiveEventID": "urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-0000000000c1"}, ["01!"]),
        ({"EQ_bizTransaction_po": "http://transaction.acme.com/po/12345678"}, ["01", "01!"]),
        ({"EQ_source_owning_party": "urn:epc:id:pgln:0614141.00001"}, ["01", "01!"]),
        ({"EQ_destination_owning_party": "urn:epc:id:pgln:0614141.00002"}, ["01", "01!"]),
        ({"perPage": "2"}, ["01", "02", "03", "04", "01!"]),
        # Result controls (EPCIS 2.0 section 8.2.7.1); ties are broken by the log order.
        ({"orderBy": "eventTime", "orderDirection": "ASC", "perPage": "2"}, ["01", "01!", "02", "03", "04"]),
        ({"orderBy": "eventTime", "perPage": "2"}, ["04", "03", "02", "01!", "01"]),
        ({"orderBy": "recordTime", "orderDirection": "ASC", "perPage": "1"}, ["01", "02", "03", "04", "01!"]),
        ({"orderBy": "recordTime", "orderDirection": "DESC", "perPage": "3"}, ["01!", "04", "03", "02", "01"]),
        ({"orderBy": "eventTime", "eventCountLimit": "3", "perPage": "2"}, ["04", "03", "02"]),
        ({"maxEventCount": "5", "perPage": "2"}, ["01", "02", "03", "04", "01!"]),
    ]
    for params, expected in cases:
        got = events_of(server, recorder, params)
        if got != expected:
            fail(f"{params}: expected {expected}, got {got}")
    print(f"{len(cases)} queries answered as expected (every supported parameter, pages by Link)")

    # Sensor data and extension fields, for another recycler (who sees only its own events).
    sensing = server.org("Sensor Recycling", "recycler")
    job = finished(sensing, capture(server, sensing, sensor_events(), context=CONTEXT + [{"rec": REC}]))
    if not job["success"] or job["errors"]:
        fail(f"the sensor capture job failed: {job}")
    sensor_cases = [
        ({}, ["12", "11", "13", "14"]),
        ({"EXISTS_sensorElementList": ""}, ["12", "11"]),
        ({"EQ_type": "Temperature", "GE_value_CEL": "10"}, ["12"]),
        # 4.5 degrees Celsius is 277.65 K and 40.1 degrees Fahrenheit.
        ({"EQ_type": "Temperature", "LT_value_KEL": "280"}, ["11"]),
        ({"GE_value_FAH": "40"}, ["12", "11"]),
        # Conditions hold on one sensor report: the humidity of 40 % is no temperature.
        ({"EQ_type": "Temperature", "EQ_value_P1": "40"}, []),
        ({"EQ_type": "RelativeHumidity", "EQ_value_P1": "40"}, ["11"]),
        ({"EQ_deviceID": "urn:epc:id:giai:4000001.111", "EQ_type": "Temperature"}, ["11"]),
        ({"GE_time": "2026-09-11T09:00:00Z", "LT_time": "2026-09-11T09:00:01Z"}, ["11"]),
        ({"EQ_SENSORREPORT_rec:probe": "P-7", "EQ_type": "Temperature"}, ["11"]),
        ({"EQ_INNER_rec:furnace": "F1"}, ["11"]),
        ({"EQ_rec:furnace": "F1"}, []),
        ({"EQ_rec:grade": "2"}, ["11", "13"]),
        ({f"GT_{REC}grade": "2"}, ["12"]),
        ({"EXISTS_rec:batch": ""}, ["11"]),
        # orderBy an extension field: equal grades in log order, events without one last.
        ({"orderBy": "rec:grade", "orderDirection": "ASC", "perPage": "1"}, ["11", "13", "12", "14"]),
        ({"orderBy": f"{REC}grade", "perPage": "2"}, ["12", "11", "13", "14"]),
        ({"orderBy": "rec:grade", "eventCountLimit": "2", "perPage": "1"}, ["12", "11"]),
    ]
    for params, expected in sensor_cases:
        got = events_of(server, sensing, params)
        if got != expected:
            fail(f"{params}: expected {expected}, got {got}")
    print(f"{len(sensor_cases)} sensor, extension-field and orderBy-field queries answered as expected")

    for name, value in [("WD_readPoint", "urn:epc:id:sgln:0614141.07346.1234"), ("HASATTR_bizLocation", "x"),
                        ("EQATTR_readPoint_name", "x"), ("GE_value", "1"),
                        ("EQ_unknownThing", "1"), ("GE_value_CEL", "warm"), ("GT_rec:grade", "high"),
                        ("EQ_booleanValue", "maybe")]:
        url = f"{server.base}/epcis/2.0/events?" + urllib.parse.urlencode({name: value})
        status, headers, body = request("GET", url, recorder)
        if status != 400 or body.get("type") != QUERY_EXCEPTION or body["errors"][0]["pointer"] != name:
            fail(f"{name}: expected 400 {QUERY_EXCEPTION}, got {status} {body}")
    print("unsupported, unknown and malformed parameters: 400 QueryParameterException naming them")

    for params, name in [({"orderBy": "bizStep"}, "orderBy"),
                         ({"orderBy": "eventTime", "orderDirection": "up"}, "orderDirection"),
                         ({"orderDirection": "ASC"}, "orderDirection"),
                         ({"eventCountLimit": "2"}, "eventCountLimit"),
                         ({"orderBy": "eventTime", "eventCountLimit": "2", "maxEventCount": "2"}, "eventCountLimit"),
                         ({"maxEventCount": "-1"}, "maxEventCount"),
                         ({"orderBy": "eventTime", "nextPageToken": "c1.ed.0.0.1.1.00"}, "nextPageToken")]:
        url = f"{server.base}/epcis/2.0/events?" + urllib.parse.urlencode(params)
        status, headers, body = request("GET", url, recorder)
        if status != 400 or body.get("type") != QUERY_EXCEPTION or body["errors"][0]["pointer"] != name:
            fail(f"{params}: expected 400 {QUERY_EXCEPTION} naming {name}, got {status} {body}")
    status, _, body = request("GET", f"{server.base}/epcis/2.0/events?maxEventCount=4", recorder)
    if status != 413 or body.get("type") != "epcisException:QueryTooLargeException":
        fail(f"maxEventCount=4 of 5 events: expected 413 QueryTooLargeException, got {status} {body}")
    print("orderBy, orderDirection, eventCountLimit, maxEventCount: wrong values and combinations refused, "
          "a larger result 413 QueryTooLargeException")

    status, _, types = request("GET", f"{server.base}/epcis/2.0/eventTypes", recorder)
    if status != 200 or "ObjectEvent" not in types:
        fail(f"eventTypes: {status} {types}")
    epc = urllib.parse.quote(f"{SGTIN}.2021", safe="")
    status, _, body = request("GET", f"{server.base}/epcis/2.0/epcs/{epc}/events", recorder)
    if status != 200 or len(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) != 1:
        fail(f"epcs/{{epc}}/events: {status} {body}")
    expected_values = {
        "bizSteps": ["commissioning", "inspecting", "packing", "shipping"],
        "dispositions": ["in_progress", "in_transit"],
        "readPoints": ["urn:epc:id:sgln:0614141.07346.1234", "urn:epc:id:sgln:0614141.07346.5678"],
    }
    for collection in ["bizSteps", "dispositions", "readPoints", "bizLocations", "epcs"]:
        values = values_of(server, recorder, collection)
        if len(set(values)) != len(values):
            fail(f"/{collection}: a value twice over the pages: {values}")
        if collection in expected_values and sorted(values) != expected_values[collection]:
            fail(f"/{collection}: expected {expected_values[collection]}, got {values}")
        for value in values:
            quoted = urllib.parse.quote(value, safe="")
            status, _, body = request("GET", f"{server.base}/epcis/2.0/{collection}/{quoted}/events", recorder)
            if status != 200 or not body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]:
                fail(f"/{collection}/{value}/events: {status} {body}")
    status, _, body = request("GET", f"{server.base}/epcis/2.0/epcs?perPage=0", recorder)
    if status != 400 or body.get("type") != QUERY_EXCEPTION:
        fail(f"/epcs?perPage=0: expected 400 {QUERY_EXCEPTION}, got {status} {body}")
    print("collections bizSteps, dispositions, readPoints, bizLocations, epcs: paged by Link, "
          "each value leads to its events")

    status, _, jobs = request("GET", f"{server.base}/epcis/2.0/capture", recorder)
    if status != 200 or len(jobs) != 3:
        fail(f"the job list: {status} {jobs}")


def kill(server, jobs, per_job):
    recorder = server.org("Kill Recycling", "recycler")
    expected = set()
    locations = []
    for j in range(jobs):
        events = []
        for i in range(per_job):
            event_id = f"urn:uuid:00000000-0000-4000-8000-{j:06d}{i:06d}"
            expected.add(event_id)
            events.append({"type": "ObjectEvent", "action": "OBSERVE", "eventID": event_id,
                           "eventTime": "2026-09-01T10:00:00Z", "eventTimeZoneOffset": "+00:00",
                           "epcList": [f"{SGTIN}.K{j}-{i}"], "bizStep": "inspecting"})
        locations.append(capture(server, recorder, events))
    # The worker is capturing the first jobs now: kill it mid-way.
    open_jobs = sum(1 for location in locations if request("GET", location, recorder)[2]["running"])
    server.kill()
    if open_jobs == 0:
        fail("every job had finished before the kill: raise --jobs or --events")
    print(f"accepted {jobs} jobs of {per_job} events; SIGKILL with {open_jobs} still running; restart")
    server.start()
    completed = 0
    for location in locations:
        job = finished(recorder, location)
        report = job.get("report") or {}
        if not job["success"] or report.get("captured") != per_job or report.get("duplicates") != 0:
            fail(f"job {location} did not capture its {per_job} events exactly once: {job}")
        completed += 1
    stored = []
    url = f"{server.base}/epcis/2.0/events?perPage=1000"
    while url:
        status, headers, body = request("GET", url, recorder)
        if status != 200:
            fail(f"GET {url}: {status} {body}")
        stored += [e["eventID"] for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
        link = headers.get("Link")
        url = link[1:link.index(">")] if link else None
    if len(stored) != len(set(stored)) or set(stored) != expected:
        fail(f"stored {len(stored)} events ({len(set(stored))} distinct), expected {len(expected)}")
    print(f"every accepted job completed once: {completed} jobs, {len(stored)} events stored once each")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["check", "kill"])
    parser.add_argument("binary")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary directory)")
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--events", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server = Server(os.path.abspath(args.binary), args.database_url or f"sqlite://{work}/reetrace.db", work)
        server.cli("migrate")
        server.start()
        try:
            if args.mode == "check":
                check(server)
            else:
                kill(server, args.jobs, args.events)
        finally:
            server.stop()
    print("ok")


if __name__ == "__main__":
    main()
