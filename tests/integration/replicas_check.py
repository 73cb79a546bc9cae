#!/usr/bin/env python3
"""The workload and the checks of tests/integration/replicas.sh (osbd replicas sharing one
PostgreSQL state store behind HAProxy).

  replicas_check.py drive --proxy URL --replica URL... --seconds N --ledger FILE [...]
      A bounded mixed workload through HAProxy, as a platform would send it, while replicas.sh
      kills replicas and restarts PostgreSQL: synchronous provisions, updates, binds, unbinds and
      deprovisions on the PostgreSQL plugin; asynchronous provisions, updates and deprovisions on
      the example plugin's "async" plan (polling last_operation); and races: the same PUT sent at
      the same moment straight to two different replicas. Every answer is classified:
        acknowledged   a 2xx, or an asynchronous operation whose last_operation said succeeded;
        refused        a 4xx (must change nothing);
        unknown        no answer, or a 5xx (the replica was killed, the database was away).
      An unknown create is cleaned up as OSB's orphan mitigation says (DELETE until 200 or 410);
      an unknown update, unbind or deprovision is sent again until it is acknowledged. What the
      platform believes at the end is written to the ledger.
  replicas_check.py check --ledger FILE --replica URL... --prefix P [...]
      Proves, printing figures, that the replicas agree with the ledger and the backend: every
      acknowledged instance and binding answers identically through every replica (credentials
      included), everything deleted is gone everywhere, no operation is left in progress, the
      admin inventory of every replica is the ledger's, every replica is alive with the same
      catalog, and the PostgreSQL server holds exactly one database (and owner role) per live
      PostgreSQL instance and one login role per live binding, whose credentials log in.
Only the standard library; PostgreSQL is reached with psql (postgresql-client).
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

PG_SERVICE = "0bea0f68-793d-4a91-8149-66db78d67528"
PG_SMALL = "a50e8c9b-6ed0-414d-b0fb-5766585f0573"
PG_LARGE = "120b925f-8451-4a09-8c99-eb9f68703bc7"
EX_SERVICE = "9bf6d9ad-db1c-479b-ba8e-648564c66a55"
EX_ASYNC = "234546ec-7332-4da8-86fd-58acefc3580b"
VERSION = "2.17"


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


# --- HTTP ------------------------------------------------------------------------------------------

class Answer:
    """One HTTP answer; status None when there was none (refused, reset, timed out)."""

    def __init__(self, status=None, body=None, text="", headers=None, error=""):
        self.status = status
        self.body = body
        self.text = text
        self.headers = headers or {}
        self.error = error

    @property
    def unknown(self):
        return self.status is None or self.status >= 500

    def describe(self):
        if self.status is None:
            return "no answer (%s)" % self.error
        return "%d %s" % (self.status, self.text[:200])


class Client:
    def __init__(self, user, password, timeout=30.0):
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.timeout = timeout
        self.counts = Counter()
        self.lock = threading.Lock()

    def connect(self, base):
        parsed = urllib.parse.urlsplit(base)
        return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=self.timeout)

    def send(self, conn, method, path, body=None, osb=True):
        """Sends on an open connection (closed afterwards); returns an Answer."""
        headers = {"Authorization": self.auth, "Connection": "close"}
        if osb:
            headers["X-Broker-API-Version"] = VERSION
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            text = raw.decode("utf-8", "replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            answer = Answer(response.status, parsed, text,
                            {k.lower(): v for k, v in response.getheaders()})
        except (OSError, http.client.HTTPException) as e:
            answer = Answer(error=type(e).__name__ + ": " + str(e))
        finally:
            conn.close()
        with self.lock:
            self.counts["%s %s" % (method, answer.status if answer.status else "none")] += 1
        return answer

    def call(self, base, method, path, body=None, osb=True):
        return self.send(self.connect(base), method, path, body, osb)


def instance_path(iid):
    return "/v2/service_instances/" + urllib.parse.quote(iid, safe="")


def binding_path(iid, bid):
    return instance_path(iid) + "/service_bindings/" + urllib.parse.quote(bid, safe="")


def removal_query(service_id, plan_id):
    return "?accepts_incomplete=true&service_id=%s&plan_id=%s" % (service_id, plan_id)


# --- the workload --------------------------------------------------------------------------------

class Ledger:
    """What the platform believes: instances and bindings with their acknowledged state."""

    def __init__(self):
        self.lock = threading.Lock()
        self.instances = {}   # id -> record
        self.races = []
        self.errors = []      # answers that no correct broker gives
        self.events = Counter()

    def add_instance(self, iid, kind, service_id, plan_id):
        with self.lock:
            self.instances[iid] = {"kind": kind, "service_id": service_id, "plan_id": plan_id,
                                   "state": "pending", "acknowledged": False, "bindings": {},
                                   "parameters": {}}
            return self.instances[iid]

    def error(self, what):
        with self.lock:
            self.errors.append(what)
        log("UNEXPECTED", what)

    def event(self, name):
        with self.lock:
            self.events[name] += 1


class Driver:
    def __init__(self, args):
        self.args = args
        self.client = Client(args.user, args.password, timeout=args.request_timeout)
        self.ledger = Ledger()
        self.stop_at = time.monotonic() + args.seconds
        self.settle_seconds = args.settle_seconds
        self.proxy = args.proxy
        self.replicas = args.replica

    def running(self):
        return time.monotonic() < self.stop_at

    # Sends until the answer is one of done (returned) or the deadline passes (None). Unknown
    # answers and the statuses in again (422: another operation runs, e.g. one a killed replica
    # left until the lease ends) are sent again after a pause.
    def until(self, what, method, path, body, done, again=(422,), deadline=None):
        deadline = deadline or time.monotonic() + self.settle_seconds
        pause = 0.25
        while True:
            answer = self.client.call(self.proxy, method, path, body)
            if answer.status in done:
                return answer
            if not (answer.unknown or answer.status in again):
                self.ledger.error("%s: %s" % (what, answer.describe()))
                return answer
            if time.monotonic() > deadline:
                self.ledger.error("%s: not settled within %d s, last answer %s"
                                  % (what, self.settle_seconds, answer.describe()))
                return None
            self.ledger.event("resent " + method)
            time.sleep(pause)
            pause = min(pause * 1.5, 2.0)

    # Polls last_operation of OPERATION until it ends; returns "succeeded", "failed", "gone" (410,
    # after a delete) or None (not ended before the deadline).
    def poll(self, what, path, operation, deadline=None):
        deadline = deadline or time.monotonic() + self.settle_seconds + 30
        query = "/last_operation"
        if operation:
            query += "?operation=" + urllib.parse.quote(operation, safe="")
        while time.monotonic() < deadline:
            answer = self.client.call(self.proxy, "GET", path + query)
            if answer.status == 200 and isinstance(answer.body, dict):
                state = answer.body.get("state")
                if state in ("succeeded", "failed"):
                    return state
            elif answer.status == 410:
                return "gone"
            elif not answer.unknown:
                self.ledger.error("%s: last_operation answered %s" % (what, answer.describe()))
                return None
            time.sleep(0.3)
        self.ledger.error("%s: still in progress after the deadline" % what)
        return None

    # Deletes an instance (or binding) until it is gone: 200, 410, or 202 then polled to the end.
    # Used for acknowledged deletes and for orphan mitigation of creates without an answer.
    def delete(self, what, path, service_id, plan_id):
        deadline = time.monotonic() + self.settle_seconds
        while True:
            answer = self.until(what, "DELETE", path + removal_query(service_id, plan_id), None,
                                (200, 202, 410), deadline=deadline)
            if answer is None or answer.status not in (200, 202, 410):
                return False
            if answer.status != 202:
                return True
            state = self.poll(what, path, (answer.body or {}).get("operation"))
            if state in ("succeeded", "gone"):
                return True
            if state is None or time.monotonic() > deadline:
                return False
            # A failed asynchronous delete: the platform sends it again.
            self.ledger.event("async delete failed, resent")

    # -- instances --

    def mitigate_instance(self, iid, rec):
        self.ledger.event("orphan mitigation (instance)")
        gone = self.delete("orphan mitigation of instance %s" % iid, instance_path(iid),
                           rec["service_id"], rec["plan_id"])
        rec["state"] = "gone" if gone else "unsettled"

    def provision(self, iid, rec, answer):
        """Classifies the answer to a provision; returns True when the instance is live."""
        if answer.status in (200, 201):
            rec["state"], rec["acknowledged"] = "live", True
            rec["provision_body"] = answer.body
            return True
        if answer.status == 202:
            state = self.poll("provision of %s" % iid, instance_path(iid),
                              (answer.body or {}).get("operation"))
            if state == "succeeded":
                rec["state"], rec["acknowledged"] = "live", True
                return True
            self.ledger.event("async provision " + str(state))
            self.mitigate_instance(iid, rec)
            return False
        if answer.unknown:
            self.ledger.event("provision without answer")
            self.mitigate_instance(iid, rec)
            return False
        self.ledger.error("provision of %s: %s" % (iid, answer.describe()))
        rec["state"] = "refused"
        return False

    def provision_body(self, service_id, plan_id, parameters=None):
        body = {"service_id": service_id, "plan_id": plan_id,
                "organization_guid": "org-replicas", "space_guid": "space-replicas"}
        if parameters is not None:
            body["parameters"] = parameters
        return body

    def update(self, iid, rec, plan_id=None, parameters=None, accepts_incomplete=False):
        body = {"service_id": rec["service_id"]}
        if plan_id:
            body["plan_id"] = plan_id
        if parameters is not None:
            body["parameters"] = parameters
        path = instance_path(iid) + ("?accepts_incomplete=true" if accepts_incomplete else "")
        what = "update of %s" % iid
        deadline = time.monotonic() + self.settle_seconds
        while True:
            answer = self.until(what, "PATCH", path, body, (200, 202), deadline=deadline)
            if answer is None or answer.status not in (200, 202):
                rec["state"] = "unsettled" if answer is None else rec["state"]
                return
            if answer.status == 202:
                state = self.poll(what, instance_path(iid), (answer.body or {}).get("operation"))
                if state != "succeeded":
                    # Failed (the plugin's poll failed, or the operation was taken over from a
                    # killed replica and failed): the platform sends the update again.
                    self.ledger.event("async update %s, resent" % state)
                    if time.monotonic() > deadline:
                        self.ledger.error("%s: not settled" % what)
                        rec["state"] = "unsettled"
                        return
                    continue
            if plan_id:
                rec["plan_id"] = plan_id
            if parameters is not None:
                rec["parameters"].update(parameters)
            self.ledger.event("update acknowledged")
            return

    def deprovision(self, iid, rec):
        for bid, b in list(rec["bindings"].items()):
            if b["state"] == "live":
                self.unbind(iid, rec, bid)
        if self.delete("deprovision of %s" % iid, instance_path(iid), rec["service_id"],
                       rec["plan_id"]):
            rec["state"] = "gone"
            self.ledger.event("deprovision acknowledged")
        else:
            rec["state"] = "unsettled"

    # -- bindings --

    def bind_record(self, rec, bid):
        b = {"state": "pending", "acknowledged": False, "credentials": None}
        rec["bindings"][bid] = b
        return b

    def bound(self, iid, rec, bid, b, answer):
        if answer.status in (200, 201):
            b["state"], b["acknowledged"] = "live", True
            b["credentials"] = (answer.body or {}).get("credentials")
            self.ledger.event("bind acknowledged")
            return True
        if answer.unknown:
            self.ledger.event("bind without answer")
            self.ledger.event("orphan mitigation (binding)")
            gone = self.delete("orphan mitigation of binding %s/%s" % (iid, bid),
                               binding_path(iid, bid), rec["service_id"], rec["plan_id"])
            b["state"] = "gone" if gone else "unsettled"
            return False
        self.ledger.error("bind %s/%s: %s" % (iid, bid, answer.describe()))
        b["state"] = "refused"
        return False

    def bind(self, iid, rec, bid):
        b = self.bind_record(rec, bid)
        answer = self.client.call(self.proxy, "PUT", binding_path(iid, bid),
                                  {"service_id": rec["service_id"], "plan_id": rec["plan_id"]})
        return self.bound(iid, rec, bid, b, answer)

    def unbind(self, iid, rec, bid):
        b = rec["bindings"][bid]
        if self.delete("unbind %s/%s" % (iid, bid), binding_path(iid, bid), rec["service_id"],
                       rec["plan_id"]):
            b["state"] = "gone"
            self.ledger.event("unbind acknowledged")
        else:
            b["state"] = "unsettled"

    # -- the workers --

    def pg_worker(self, n):
        rnd = random.Random(n)
        count = 0
        while self.running():
            count += 1
            iid = "pg-%d-%d-%06x" % (n, count, rnd.getrandbits(24))
            rec = self.ledger.add_instance(iid, "pg", PG_SERVICE, PG_SMALL)
            query = "?accepts_incomplete=true" if rnd.random() < 0.5 else ""
            answer = self.client.call(self.proxy, "PUT", instance_path(iid) + query,
                                      self.provision_body(PG_SERVICE, PG_SMALL))
            if not self.provision(iid, rec, answer):
                continue
            for k in range(rnd.choice((1, 1, 2))):
                self.bind(iid, rec, "b%d" % k)
            if rnd.random() < 0.4:
                self.update(iid, rec, plan_id=PG_LARGE)
            live = [bid for bid, b in rec["bindings"].items() if b["state"] == "live"]
            if live and rnd.random() < 0.3:
                self.unbind(iid, rec, live[0])
            if rnd.random() < 0.4:
                self.deprovision(iid, rec)

    def async_worker(self, n):
        rnd = random.Random(1000 + n)
        count = 0
        while self.running():
            count += 1
            iid = "ex-%d-%d-%06x" % (n, count, rnd.getrandbits(24))
            rec = self.ledger.add_instance(iid, "example", EX_SERVICE, EX_ASYNC)
            answer = self.client.call(self.proxy, "PUT",
                                      instance_path(iid) + "?accepts_incomplete=true",
                                      self.provision_body(EX_SERVICE, EX_ASYNC, {"size": 1}))
            if answer.status in (200, 201):
                self.ledger.error("async provision of %s answered %d" % (iid, answer.status))
            if not self.provision(iid, rec, answer):
                continue
            rec["parameters"] = {"size": 1}
            if rnd.random() < 0.5:
                # The async plan binds synchronously without accepts_incomplete.
                self.bind(iid, rec, "b0")
            if rnd.random() < 0.5:
                self.update(iid, rec, parameters={"size": rnd.randint(2, 9)},
                            accepts_incomplete=True)
            if rnd.random() < 0.4:
                self.deprovision(iid, rec)

    def race(self, kind, count):
        """The same PUT at the same moment straight to two different replicas."""
        a, b = random.sample(self.replicas, 2)
        if kind == "bind":
            with self.ledger.lock:
                targets = [(i, r) for i, r in self.ledger.instances.items()
                           if r["kind"] == "pg" and r["state"] == "live" and
                           i.startswith("race-") and len(r["bindings"]) < 3]
            if not targets:
                kind = "provision"
            else:
                iid, rec = random.choice(targets)
                bid = "race-b%d" % count
                path = binding_path(iid, bid)
                body = {"service_id": rec["service_id"], "plan_id": rec["plan_id"]}
        if kind in ("provision", "async provision"):
            iid = "race-%d-%06x" % (count, random.getrandbits(24))
            if kind == "provision":
                rec = self.ledger.add_instance(iid, "pg", PG_SERVICE, PG_SMALL)
                path = instance_path(iid)
                body = self.provision_body(PG_SERVICE, PG_SMALL)
            else:
                rec = self.ledger.add_instance(iid, "example", EX_SERVICE, EX_ASYNC)
                rec["parameters"] = {"size": 1}
                path = instance_path(iid) + "?accepts_incomplete=true"
                body = self.provision_body(EX_SERVICE, EX_ASYNC, {"size": 1})
        answers = [None, None]
        barrier = threading.Barrier(2)

        def one(i, base):
            conn = self.client.connect(base)
            try:
                conn.connect()
            except OSError:
                pass  # send() reports it
            try:
                barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            answers[i] = self.client.send(conn, "PUT", path, body)

        threads = [threading.Thread(target=one, args=(i, base)) for i, base in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [x.status for x in answers]
        entry = {"kind": kind, "path": path, "replicas": [a, b], "codes": codes, "valid": True}
        with self.ledger.lock:
            self.ledger.races.append(entry)
        self.judge_race(entry, answers)
        # What the platform then does: the first 2xx it got is its answer; without one, it
        # cleans up (orphan mitigation) when an answer was missing.
        ok = [x for x in answers if x.status in (200, 201, 202)]
        if kind == "bind":
            b = self.bind_record(rec, bid)
            chosen = ok[0] if ok else next((x for x in answers if x.unknown), answers[0])
            self.bound(iid, rec, bid, b, chosen)
            return
        chosen = ok[0] if ok else next((x for x in answers if x.unknown), None)
        if chosen is None:
            rec["state"] = "refused"
            return
        self.provision(iid, rec, chosen)

    def judge_race(self, entry, answers):
        codes = entry["codes"]
        bad = []
        if codes.count(201) > 1:
            bad.append("two 201 Created for one id")
        ok = [x for x in answers if x.status in (200, 201, 202)]
        # Two 202: the same operation (the second joined the first); two 200/201: the same body
        # (credentials included: a second bind would have set another password).
        if len(ok) == 2 and ((ok[0].body or {}).get("operation") != (ok[1].body or {}).get(
                "operation") if ok[0].status == ok[1].status == 202 else ok[0].body != ok[1].body):
            bad.append("two different 2xx answers: %s / %s" % (ok[0].describe(), ok[1].describe()))
        for x in answers:
            if x.status is not None and x.status < 500 and x.status not in (200, 201, 202, 409, 422):
                bad.append("unexpected %s" % x.describe())
        if not ok and not any(x.unknown for x in answers):
            bad.append("both refused, yet nothing else created it")
        if bad:
            entry["valid"] = False
            entry["why"] = bad
            self.ledger.error("race %s %s on %s: %s" % (entry["kind"], entry["path"],
                                                         entry["replicas"], "; ".join(bad)))

    def race_worker(self):
        count = 0
        kinds = ["provision", "bind", "async provision", "bind"]
        while self.running():
            count += 1
            self.race(kinds[count % len(kinds)], count)
            time.sleep(0.4)

    def run(self):
        workers = [threading.Thread(target=self.pg_worker, args=(n,), name="pg-%d" % n)
                   for n in range(self.args.pg_workers)]
        workers += [threading.Thread(target=self.async_worker, args=(n,), name="ex-%d" % n)
                    for n in range(self.args.async_workers)]
        workers.append(threading.Thread(target=self.race_worker, name="race"))
        started = time.monotonic()
        for w in workers:
            w.start()
        last = started
        while any(w.is_alive() for w in workers):
            time.sleep(1)
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                with self.client.lock:
                    total = sum(self.client.counts.values())
                log("workload: %d requests after %d s" % (total, last - started))
        for w in workers:
            w.join()
        log("workload ended after %.1f s (new requests stopped at %d s; the rest settled what was"
            " left unanswered)" % (time.monotonic() - started, self.args.seconds))
        self.report()
        with open(self.args.ledger, "w") as f:
            json.dump({"instances": self.ledger.instances, "races": self.ledger.races,
                       "errors": self.ledger.errors, "events": self.ledger.events,
                       "requests": self.client.counts}, f, indent=1, sort_keys=True)
        return 0

    def report(self):
        ledger = self.ledger
        print("requests by method and status (none: no answer):")
        for key, n in sorted(self.client.counts.items()):
            print("  %-12s %6d" % (key, n))
        print("events:")
        for key, n in sorted(ledger.events.items()):
            print("  %-34s %6d" % (key, n))
        states = Counter((r["kind"], r["state"]) for r in ledger.instances.values())
        print("instances by plugin and final state:", dict(sorted(
            ("%s %s" % k, v) for k, v in states.items())))
        bstates = Counter(b["state"] for r in ledger.instances.values()
                          for b in r["bindings"].values())
        print("bindings by final state:", dict(sorted(bstates.items())))
        pairs = Counter((r["kind"], tuple(sorted(str(c) for c in r["codes"])))
                        for r in ledger.races)
        print("races (kind, the two statuses):")
        for (kind, codes), n in sorted(pairs.items()):
            print("  %-16s %-16s %4d" % (kind, "/".join(codes), n))
        print("unexpected answers: %d" % len(ledger.errors))


# --- the checks ----------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.passes = 0
        self.failures = 0

    def check(self, name, want, got):
        """One check; lists are shown by their length, and on a failure by what differs."""
        shown = "%d items" % len(got) if isinstance(got, list) and len(got) > 3 else got
        if want == got:
            self.passes += 1
            print("ok   %s -> %s" % (name, shown), flush=True)
            return
        self.failures += 1
        if isinstance(want, list) and isinstance(got, list):
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            print("FAIL %s -> %d items, want %d; missing (first 10): %s; extra (first 10): %s"
                  % (name, len(got), len(want), missing[:10], extra[:10]), flush=True)
        else:
            print("FAIL %s -> %s (want %s)" % (name, got, want), flush=True)


def metric_sum(text, name):
    """The sum of NAME's samples; 0 for a family without samples; None without the family."""
    total, found = 0.0, ("# TYPE %s " % name) in text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


def without_usage(body):
    """An instance as the store keeps it: without what the plugin measures at each fetch (the
    database's size), which is not the store's and may change between two fetches."""
    if not isinstance(body, dict):
        return body
    body = json.loads(json.dumps(body))
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("attributes"), dict):
        for key in ("storage_bytes", "storage_quota_bytes", "objects", "objects_quota",
                    "over_quota", "usage_description"):
            metadata["attributes"].pop(key, None)
        if not metadata["attributes"]:
            del metadata["attributes"]
        if not metadata:
            del body["metadata"]
    return body


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def psql(args, sql):
    env = dict(os.environ, PGPASSWORD=args.pg_password, PGCONNECT_TIMEOUT="10")
    out = subprocess.run(["psql", "-XAtq", "-h", args.pg_host, "-p", str(args.pg_port), "-U",
                          args.pg_user, "-d", "postgres", "-c", sql],
                         env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("psql: " + out.stderr.strip())
    return [line for line in out.stdout.splitlines() if line]


def check(args):
    with open(args.ledger) as f:
        ledger = json.load(f)
    checks = Checks()
    client = Client(args.user, args.password, timeout=30)
    admin = Client(args.admin_user, args.admin_password, timeout=30)
    replicas = args.replica
    instances = ledger["instances"]

    checks.check("the workload saw no unexpected answer", 0, len(ledger["errors"]))
    for e in ledger["errors"][:20]:
        print("  ", e)
    unsettled = [i for i, r in instances.items() if r["state"] in ("unsettled", "pending")] + \
        ["%s/%s" % (i, bid) for i, r in instances.items() for bid, b in r["bindings"].items()
         if b["state"] in ("unsettled", "pending")]
    checks.check("every operation of the workload was settled", [], unsettled[:10])
    bad_races = [r for r in ledger["races"] if not r["valid"]]
    checks.check("races: never two creates, never two different answers", 0, len(bad_races))
    checks.check("races were run", True, len(ledger["races"]) >= 10)

    # 1. Every replica ready, and no operation left in progress (within the deadline).
    deadline = time.monotonic() + args.quiet_seconds
    started = time.monotonic()
    while True:
        state = {}
        for base in replicas:
            ready = client.call(base, "GET", "/readyz", osb=False).status
            metrics = admin.call(base, "GET", "/metrics", osb=False)
            listed = admin.call(base, "GET", "/admin/instances", osb=False)
            in_progress = metric_sum(metrics.text, "osbd_operations_in_progress") \
                if metrics.status == 200 else None
            open_ops = None
            if listed.status == 200 and isinstance(listed.body, dict):
                open_ops = sum(1 for i in listed.body.get("instances", [])
                               if i.get("status") != "ready" or
                               (i.get("last_operation") or {}).get("state") == "in progress")
            state[base] = (ready, in_progress, open_ops)
        if all(v == (200, 0.0, 0) for v in state.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print("after %.1f s: per replica (readyz, osbd_operations_in_progress, instances not ready or"
          " with an operation in progress): %s" % (time.monotonic() - started, state))
    for base, (ready, in_progress, open_ops) in state.items():
        checks.check("%s is ready" % base, 200, ready)
        checks.check("%s: osbd_operations_in_progress" % base, 0.0, in_progress)
        checks.check("%s: instances not ready or with an operation in progress" % base, 0, open_ops)

    # 2. The replicas see each other, alive and with one catalog.
    ids = []
    for base in replicas:
        answer = admin.call(base, "GET", "/admin/replicas", osb=False)
        checks.check("%s: GET /admin/replicas" % base, 200, answer.status)
        if answer.status != 200:
            continue
        body = answer.body or {}
        ids.append(body.get("self"))
        listed = {r.get("id"): r for r in body.get("replicas", [])}
        alive = sorted(i for i, r in listed.items() if r.get("alive"))
        checks.check("%s: replicas alive" % base, sorted(args.replica_id), alive)
        checks.check("%s: no catalog mismatch" % base, [],
                     sorted(i for i, r in listed.items() if r.get("catalog_mismatch")))
        metrics = admin.call(base, "GET", "/metrics", osb=False).text
        checks.check("%s: osbd_replicas_alive" % base, float(len(args.replica_id)),
                     metric_sum(metrics, "osbd_replicas_alive"))
        checks.check("%s: osbd_replica_catalog_mismatch" % base, 0.0,
                     metric_sum(metrics, "osbd_replica_catalog_mismatch"))
    checks.check("each replica names itself", sorted(args.replica_id), sorted(ids))

    # 3. The inventory of every replica is the ledger's.
    live = {i: r for i, r in instances.items() if r["state"] == "live"}
    gone = {i: r for i, r in instances.items() if r["state"] == "gone"}
    live_bindings = {(i, bid): b for i, r in live.items() for bid, b in r["bindings"].items()
                     if b["state"] == "live"}
    gone_bindings = {(i, bid): b for i, r in instances.items()
                     for bid, b in r["bindings"].items() if b["state"] == "gone"}
    print("ledger: %d instances live (%d PostgreSQL, %d example), %d gone, %d bindings live, %d"
          " gone; %d races" % (len(live), sum(1 for r in live.values() if r["kind"] == "pg"),
                               sum(1 for r in live.values() if r["kind"] == "example"), len(gone),
                               len(live_bindings), len(gone_bindings), len(ledger["races"])))
    for base in replicas:
        listed = admin.call(base, "GET", "/admin/instances", osb=False)
        got = sorted(i["id"] for i in (listed.body or {}).get("instances", [])) \
            if listed.status == 200 else None
        checks.check("%s: /admin/instances lists exactly the live instances (%d)"
                     % (base, len(live)), sorted(live), got)
        listed = admin.call(base, "GET", "/admin/bindings", osb=False)
        got = sorted("%s/%s" % (b["instance_id"], b["id"])
                     for b in (listed.body or {}).get("bindings", [])) \
            if listed.status == 200 else None
        checks.check("%s: /admin/bindings lists exactly the live bindings (%d)"
                     % (base, len(live_bindings)), sorted("%s/%s" % k for k in live_bindings), got)

    # 4. Every instance and binding through every replica.
    timings = {base: [] for base in replicas}
    statuses = Counter()

    def fetch_all(path):
        answers = []
        for base in replicas:
            started = time.monotonic()
            answers.append(client.call(base, "GET", path))
            timings[base].append(time.monotonic() - started)
            statuses[answers[-1].status] += 1
        return answers

    def show_timings(what):
        for base, t in timings.items():
            t.sort()
            if t:
                print("  %s through %s: %d fetches, median %.0f ms, slowest %.0f ms"
                      % (what, base, len(t), 1000 * t[len(t) // 2], 1000 * t[-1]))
            t.clear()
        print("  statuses: %s" % dict(statuses))
        statuses.clear()

    def instance_findings(item):
        iid, rec = item
        answers = fetch_all(instance_path(iid))
        findings = []
        if rec["state"] == "live":
            if [a.status for a in answers] != [200] * len(replicas):
                findings.append("live instance %s: %s" % (iid, [a.describe() for a in answers]))
            else:
                bodies = [without_usage(a.body) for a in answers]
                if any(b != bodies[0] for b in bodies):
                    findings.append("instance %s differs between replicas: %s"
                                    % (iid, [a.text for a in answers]))
                if bodies[0].get("plan_id") != rec["plan_id"]:
                    findings.append("instance %s: plan %s, acknowledged %s"
                                    % (iid, bodies[0].get("plan_id"), rec["plan_id"]))
                want = rec.get("parameters") or {}
                if rec["kind"] == "example" and bodies[0].get("parameters") != want:
                    findings.append("instance %s: parameters %s, acknowledged %s"
                                    % (iid, bodies[0].get("parameters"), want))
        else:
            if [a.status for a in answers] != [404] * len(replicas):
                findings.append("deleted instance %s: %s" % (iid, [a.describe() for a in answers]))
        return findings

    def binding_findings(item):
        (iid, bid), b = item
        answers = fetch_all(binding_path(iid, bid))
        findings = []
        if b["state"] == "live":
            if [a.status for a in answers] != [200] * len(replicas):
                findings.append("live binding %s/%s: %s"
                                % (iid, bid, [a.describe() for a in answers]))
            else:
                if any(a.body != answers[0].body for a in answers):
                    findings.append("binding %s/%s differs between replicas" % (iid, bid))
                if (answers[0].body or {}).get("credentials") != b["credentials"]:
                    findings.append("binding %s/%s: credentials differ from the acknowledged ones"
                                    % (iid, bid))
        elif instances[iid]["state"] == "live":
            if [a.status for a in answers] != [404] * len(replicas):
                findings.append("deleted binding %s/%s: %s"
                                % (iid, bid, [a.describe() for a in answers]))
        return findings

    with ThreadPoolExecutor(max_workers=6) as pool:
        found = [f for fs in pool.map(instance_findings, list(live.items()) + list(gone.items()))
                 for f in fs]
        for f in found[:20]:
            print("  ", f)
        show_timings("instances")
        checks.check("%d live and %d deleted instances answer as acknowledged, identically through"
                     " the %d replicas" % (len(live), len(gone), len(replicas)), 0, len(found))
        found = [f for fs in pool.map(binding_findings,
                                      list(live_bindings.items()) + list(gone_bindings.items()))
                 for f in fs]
        for f in found[:20]:
            print("  ", f)
        show_timings("bindings")
        checks.check("%d live and %d deleted bindings answer as acknowledged, identically through"
                     " the %d replicas" % (len(live_bindings), len(gone_bindings), len(replicas)),
                     0, len(found))

    # 5. The backend: exactly one database and owner role per live PostgreSQL instance, one login
    # role per live binding of one (names: plugins/postgresql/README.md).
    prefix = args.prefix
    want_db = sorted(prefix + sha256_hex(i)[:24] for i, r in live.items() if r["kind"] == "pg")
    want_owner = sorted(d + "_owner" for d in want_db)
    want_login = sorted(prefix + sha256_hex(i)[:24] + "_b_" + sha256_hex(bid)[:16]
                        for (i, bid) in live_bindings if live[i]["kind"] == "pg")
    databases = sorted(psql(args, "SELECT datname FROM pg_database WHERE datname ~ '^%s[0-9a-f]{24}$'"
                            % prefix))
    owners = sorted(psql(args, "SELECT rolname FROM pg_roles WHERE rolname ~ '^%s[0-9a-f]{24}_owner$'"
                         % prefix))
    logins = sorted(psql(args, "SELECT rolname FROM pg_roles WHERE rolname ~ "
                               "'^%s[0-9a-f]{24}_b_[0-9a-f]{16}$'" % prefix))
    print("backend: %d databases (ledger: %d live PostgreSQL instances), %d owner roles, %d"
          " binding roles (ledger: %d live bindings)"
          % (len(databases), len(want_db), len(owners), len(logins), len(want_login)))
    checks.check("one database per live PostgreSQL instance, none else", want_db, databases)
    checks.check("one owner role per live PostgreSQL instance, none else", want_owner, owners)
    checks.check("one login role per live binding, none else", want_login, logins)

    # 6. The acknowledged credentials log in (a second bind that replaced the password of a race
    # binding would show here).
    def login(item):
        (iid, bid), b = item
        creds = b["credentials"] or {}
        env = dict(os.environ, PGCONNECT_TIMEOUT="10")
        out = subprocess.run(["psql", "-XAtq", creds.get("uri", ""), "-c",
                              "SELECT current_database()"],
                             env=env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0 or out.stdout.strip() != creds.get("database"):
            return "%s/%s: %s" % (iid, bid, out.stderr.strip() or out.stdout.strip())
        return None

    pg_bindings = [(k, b) for k, b in live_bindings.items() if live[k[0]]["kind"] == "pg"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = [f for f in pool.map(login, pg_bindings) if f]
    for f in failed[:10]:
        print("  ", f)
    races = sum(1 for (i, bid), _ in pg_bindings if bid.startswith("race-"))
    checks.check("the acknowledged credentials of %d bindings (%d from races) log in"
                 % (len(pg_bindings), races), 0, len(failed))

    # 7. osbctl replicas: the table.
    if args.osbctl:
        env = dict(os.environ, OSBCTL_URL=replicas[0], OSBCTL_USER=args.admin_user,
                   OSBCTL_PASSWORD=args.admin_password)
        out = subprocess.run([args.osbctl, "replicas"], env=env, capture_output=True, text=True,
                             timeout=30)
        print("osbctl replicas:\n" + out.stdout + out.stderr)
        checks.check("osbctl replicas exits 0", 0, out.returncode)
        rows = [line for line in out.stdout.splitlines()
                if any(line.split()[:1] == [r] for r in args.replica_id)]
        checks.check("osbctl replicas shows each replica once", len(args.replica_id), len(rows))

    print("checks: %d passed, %d failed" % (checks.passes, checks.failures))
    return 0 if checks.failures == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("drive", "check"):
        p = sub.add_parser(name)
        p.add_argument("--replica", action="append", required=True, help="a replica's URL")
        p.add_argument("--ledger", required=True)
        p.add_argument("--user", required=True)
        p.add_argument("--password", required=True)
    d = sub.choices["drive"]
    d.add_argument("--proxy", required=True, help="HAProxy's URL")
    d.add_argument("--seconds", type=float, default=60)
    d.add_argument("--settle-seconds", type=float, default=40,
                   help="how long an unanswered operation is sent again")
    d.add_argument("--request-timeout", type=float, default=30)
    d.add_argument("--pg-workers", type=int, default=4)
    d.add_argument("--async-workers", type=int, default=1)
    c = sub.choices["check"]
    c.add_argument("--replica-id", action="append", required=True)
    c.add_argument("--admin-user", required=True)
    c.add_argument("--admin-password", required=True)
    c.add_argument("--prefix", required=True, help="the PostgreSQL plugin's name_prefix")
    c.add_argument("--quiet-seconds", type=float, default=20,
                   help="how long operations may stay in progress (2 x lease after the last kill)")
    c.add_argument("--osbctl", default="")
    c.add_argument("--pg-host", default=os.environ.get("OSBD_PG_HOST", "127.0.0.1"))
    c.add_argument("--pg-port", default=os.environ.get("OSBD_PG_PORT", "25432"))
    c.add_argument("--pg-user", default=os.environ.get("OSBD_PG_ADMIN_USER", "osbd_admin"))
    c.add_argument("--pg-password", default=os.environ.get("OSBD_PG_ADMIN_PASSWORD", ""))
    args = parser.parse_args()
    if args.command == "drive":
        return Driver(args).run()
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
