#!/usr/bin/env python3
"""Load generator and checker of the kill -9 campaign (tests/faults/kill9_campaign.sh).

  load.py run   --port P --journal FILE --prefix ID [--clients 32] [--procs 4] [--duration 30]
                [--seed N]
      32 client threads (a quarter mostly on the async plan), each on ids of its own, run mixed OSB operations against osbd on
      127.0.0.1:P (sync and async provision with accepts_incomplete, bind, fetch, unbind,
      deprovision, last_operation polling) until osbd stops answering (it is killed) or the
      duration ends. Every request and every answer is written to the journal (JSON).

  load.py check --port P JOURNAL... [--settle 30]
      After osbd restarted: waits (bounded) until no operation the journals touched is
      "in progress", then checks with GET instance / GET binding that nothing acknowledged as
      created is missing (lost) and nothing acknowledged as deleted is back (resurrected).
      Prints `acknowledged=N lost=N resurrected=N stuck=N` and one line per violation; the exit
      status is 1 on a violation.

Acknowledged = a 200/201/202 answer to a PUT or DELETE. A request that got no answer (osbd was
killed) or a 5xx leaves its resource ambiguous: either outcome is allowed for it, only "stuck"
is checked. A 4xx leaves no trace, so the state stays what it was.
"""

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

SERVICE = "9bf6d9ad-db1c-479b-ba8e-648564c66a55"
SYNC_PLAN = "700556d0-4a22-4ed7-8a5c-004d693b5286"
ASYNC_PLAN = "234546ec-7332-4da8-86fd-58acefc3580b"
AUTH = "Basic " + base64.b64encode(b"osbd:osbd-dev-password").decode()
HEADERS = {"Authorization": AUTH, "X-Broker-API-Version": "2.17",
           "Content-Type": "application/json"}


class NoAnswer(Exception):
    """osbd closed the connection or did not answer: the request's outcome is unknown."""


class Client:
    """One keep-alive connection to osbd; reconnects once per request when idle-closed."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=HEADERS)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise NoAnswer(type(e).__name__) from e
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"_raw": raw[:200].decode(errors="replace")}
        return resp.status, parsed

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def instance_path(iid):
    return "/v2/service_instances/" + urllib.parse.quote(iid, safe="")


def binding_path(iid, bid):
    return instance_path(iid) + "/service_bindings/" + urllib.parse.quote(bid, safe="")


def delete_query(plan):
    return "?accepts_incomplete=true&service_id=%s&plan_id=%s" % (SERVICE, plan)


class Worker(threading.Thread):
    """One client: a loop of lifecycles on its own ids, stopping at the first unanswered request."""

    def __init__(self, args, index, events, lock, deadline):
        super().__init__(daemon=True)
        self.args = args
        self.index = index
        self.events = events
        self.lock = lock
        self.deadline = deadline
        self.rng = random.Random(args.seed * 1000 + index)
        self.client = Client(args.port)
        self.seq = 0
        self.lifecycles = 0
        self.stopped = False

    def log(self, **event):
        event["client"] = self.index
        event["t"] = round(time.monotonic(), 4)
        with self.lock:
            self.events.append(event)

    # One mutating request, journaled: returns (status, body); raises NoAnswer.
    def mutate(self, kind, action, iid, bid, method, path, body, plan):
        self.seq += 1
        self.log(kind=kind, action=action, instance=iid, binding=bid, plan=plan, seq=self.seq,
                 phase="sent")
        try:
            status, reply = self.client.request(method, path, body)
        except NoAnswer as e:
            self.log(kind=kind, action=action, instance=iid, binding=bid, plan=plan, seq=self.seq,
                     phase="answer", status=None, error=str(e))
            raise
        self.log(kind=kind, action=action, instance=iid, binding=bid, plan=plan, seq=self.seq,
                 phase="answer", status=status, operation=reply.get("operation"),
                 error=reply.get("error"))
        return status, reply

    # Polls last_operation of an operation this client got a 202 for; journals the final state.
    def poll(self, kind, iid, bid, operation):
        path = (instance_path(iid) if kind == "instance" else binding_path(iid, bid))
        path += "/last_operation"
        if operation:
            path += "?operation=" + urllib.parse.quote(operation, safe="")
        for _ in range(200):
            if time.monotonic() > self.deadline:
                return None
            status, reply = self.client.request("GET", path)
            state = reply.get("state") if status == 200 else None
            if status == 200 and state == "in progress":
                time.sleep(0.1)
                continue
            final = state if status == 200 else ("gone" if status == 410 else "http-%d" % status)
            self.log(kind=kind, instance=iid, binding=bid, operation=operation, phase="polled",
                     state=final)
            return final
        return None

    def lifecycle(self):
        rng = self.rng
        self.lifecycles += 1
        iid = "%s-c%02d-%05d" % (self.args.prefix, self.index, self.lifecycles)
        # A quarter of the clients work mostly on the async plan, the others mostly on the sync
        # one: async lifecycles spend their time polling, sync ones in mutating requests, so the
        # kill finds many mutations in flight and the async operations still get cut.
        async_share = 0.8 if self.index % 4 == 0 else 0.05
        plan = ASYNC_PLAN if rng.random() < async_share else SYNC_PLAN
        body = {"service_id": SERVICE, "plan_id": plan, "organization_guid": "org-faults",
                "space_guid": "space-faults", "parameters": {"size": rng.randint(1, 3)}}
        status, reply = self.mutate("instance", "create", iid, None, "PUT",
                                    instance_path(iid) + "?accepts_incomplete=true", body, plan)
        if status == 202:
            if self.poll("instance", iid, None, reply.get("operation")) != "succeeded":
                return
        elif status not in (200, 201):
            return
        if rng.random() < 0.3:  # a repeated identical PUT
            self.mutate("instance", "create", iid, None, "PUT",
                        instance_path(iid) + "?accepts_incomplete=true", body, plan)
        bound = None
        if rng.random() < 0.7:
            bid = iid + "-b"
            bbody = {"service_id": SERVICE, "plan_id": plan,
                     "bind_resource": {"app_guid": "app-faults"}}
            status, reply = self.mutate("binding", "create", iid, bid, "PUT",
                                        binding_path(iid, bid) + "?accepts_incomplete=true",
                                        bbody, plan)
            if status == 202:
                if self.poll("binding", iid, bid, reply.get("operation")) != "succeeded":
                    return
            elif status not in (200, 201):
                return
            bound = bid
            if rng.random() < 0.5:
                self.client.request("GET", binding_path(iid, bid))
            if rng.random() < 0.6:
                status, reply = self.mutate("binding", "delete", iid, bid, "DELETE",
                                            binding_path(iid, bid) + delete_query(plan), None,
                                            plan)
                if status == 202:
                    if self.poll("binding", iid, bid, reply.get("operation")) not in (
                            "succeeded", "gone"):
                        return
                elif status not in (200, 410):
                    return
                bound = None
        if rng.random() < 0.3:
            self.client.request("GET", instance_path(iid))
        if bound is None and rng.random() < 0.5:
            status, reply = self.mutate("instance", "delete", iid, None, "DELETE",
                                        instance_path(iid) + delete_query(plan), None, plan)
            if status == 202:
                self.poll("instance", iid, None, reply.get("operation"))

    def run(self):
        try:
            for _ in range(100000):
                if time.monotonic() > self.deadline:
                    break
                self.lifecycle()
        except NoAnswer:
            pass
        except Exception as e:  # noqa: BLE001 - a client bug must not hang the campaign
            self.log(phase="client-error", error=repr(e))
        finally:
            self.stopped = True
            self.client.close()


def run_clients(args, indices, path):
    """One process: a thread per client index; writes its events to PATH."""
    events = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration
    workers = [Worker(args, i, events, lock, deadline) for i in indices]
    for w in workers:
        w.start()
    for w in workers:
        w.join(args.duration + 15)
    with lock:
        snapshot = list(events)
    with open(path, "w") as f:
        json.dump(snapshot, f)


def run(args):
    # Clients are spread over several processes: one Python process would serialize them on its
    # interpreter lock, and osbd would see few requests in flight when it is killed.
    procs = max(1, min(args.procs, args.clients))
    children = []
    for p in range(procs):
        indices = [i for i in range(args.clients) if i % procs == p]
        part = "%s.part%d" % (args.journal, p)
        child = multiprocessing.Process(target=run_clients, args=(args, indices, part))
        child.start()
        children.append((child, part))
    snapshot = []
    for child, part in children:
        child.join(args.duration + 30)
        if child.is_alive():
            child.kill()
            child.join()
        try:
            with open(part) as f:
                snapshot.extend(json.load(f))
            os.unlink(part)
        except OSError:
            print("load: a client process left no journal (exit %s)" % child.exitcode)
    with open(args.journal, "w") as f:
        json.dump({"prefix": args.prefix, "events": snapshot}, f)
    answers = {}
    for e in snapshot:
        if e.get("phase") == "answer":
            key = str(e.get("status"))
            answers[key] = answers.get(key, 0) + 1
    errors = [e for e in snapshot if e.get("phase") == "client-error"]
    print("load: %d requests journaled, answers by status %s" % (
        sum(answers.values()), json.dumps(answers, sort_keys=True)))
    for e in errors[:5]:
        print("load: client error: %s" % e["error"])
    return 0


# --- checking -------------------------------------------------------------------------------

class Resource:
    """What the journal says about one instance or binding."""

    def __init__(self, kind, iid, bid, plan):
        self.kind, self.iid, self.bid, self.plan = kind, iid, bid, plan
        self.state = "absent"       # absent | present
        self.deleted_ack = False    # the last settled state comes from an acknowledged delete
        self.ambiguous = False      # a request got no answer or a 5xx: either outcome allowed
        self.acked = 0
        self.pending_op = None      # (action, operation) of an acknowledged 202 not seen finished

    def answer(self, e):
        status = e.get("status")
        action = e["action"]
        if status is None or status >= 500:
            self.ambiguous = True
            return
        if status in (200, 201, 202):
            self.acked += 1
        if action == "create":
            if status in (200, 201):
                self.state, self.deleted_ack, self.pending_op = "present", False, None
            elif status == 202:
                self.state, self.deleted_ack = "present", False
                self.pending_op = ("create", e.get("operation"))
        else:
            if status in (200, 410):
                self.state, self.deleted_ack, self.pending_op = "absent", True, None
            elif status == 202:
                self.state, self.deleted_ack = "absent", True
                self.pending_op = ("delete", e.get("operation"))

    def polled(self, e):
        final = e.get("state")
        if self.pending_op is None:
            return
        action = self.pending_op[0]
        if final in ("succeeded", "gone"):
            self.pending_op = None
        elif final == "failed":
            # The operation failed while osbd ran: the resource stays as it was before it.
            self.state = "absent" if action == "create" else "present"
            self.deleted_ack = False
            self.pending_op = None

    def path(self):
        return instance_path(self.iid) if self.kind == "instance" else binding_path(self.iid,
                                                                                    self.bid)

    def name(self):
        return self.iid if self.kind == "instance" else self.iid + "/" + self.bid


def build_model(journals):
    resources = {}
    acknowledged = 0
    for path in journals:
        with open(path) as f:
            events = json.load(f)["events"]
        for e in events:
            if e.get("phase") not in ("answer", "polled"):
                continue
            key = (e["kind"], e["instance"], e.get("binding"))
            res = resources.get(key)
            if res is None:
                res = resources[key] = Resource(e["kind"], e["instance"], e.get("binding"),
                                                e.get("plan"))
            if e["phase"] == "answer":
                res.answer(e)
            else:
                res.polled(e)
    for res in resources.values():
        acknowledged += res.acked
    return resources, acknowledged


def last_operation(client, res):
    path = res.path() + "/last_operation"
    if res.pending_op and res.pending_op[1]:
        path += "?operation=" + urllib.parse.quote(res.pending_op[1], safe="")
    status, reply = client.request("GET", path)
    return status, reply


def check(args):
    resources, acknowledged = build_model(args.journals)
    client = Client(args.port, timeout=15.0)
    deadline = time.monotonic() + args.settle
    # 1. Nothing stays "in progress": wait, bounded, for every touched resource to settle.
    unsettled = dict(resources)
    final_ops = {}
    for _ in range(10000):
        for key, res in list(unsettled.items()):
            status, reply = last_operation(client, res)
            final_ops[key] = (status, reply.get("state"), reply.get("description"))
            if not (status == 200 and reply.get("state") == "in progress"):
                del unsettled[key]
        if not unsettled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    stuck = len(unsettled)
    violations = []
    for key, res in unsettled.items():
        violations.append("stuck %s %s: last_operation %s" % (res.kind, res.name(),
                                                                  final_ops.get(key)))
    # 2. Lost and resurrected, from the resources' own GET.
    lost = resurrected = 0
    for key, res in sorted(resources.items()):
        if res.ambiguous or key in unsettled:
            continue
        status, reply = client.request("GET", res.path())
        exists = status == 200
        if res.state == "present" and not exists:
            # A binding whose instance went with an acknowledged delete is not lost.
            inst = resources.get(("instance", res.iid, None))
            if res.kind == "binding" and inst and inst.state == "absent" and inst.deleted_ack:
                continue
            lost += 1
            violations.append("lost %s %s: GET %s %s, last_operation %s" % (
                res.kind, res.name(), status, json.dumps(reply)[:200], final_ops.get(key)))
        elif res.state == "absent" and res.deleted_ack and status not in (404, 410):
            resurrected += 1
            violations.append("resurrected %s %s: GET %s, last_operation %s" % (
                res.kind, res.name(), status, final_ops.get(key)))
    client.close()
    ambiguous = sum(1 for r in resources.values() if r.ambiguous)
    print("acknowledged=%d lost=%d resurrected=%d stuck=%d (resources=%d ambiguous=%d)" % (
        acknowledged, lost, resurrected, stuck, len(resources), ambiguous))
    for v in violations[:20]:
        print("  " + v)
    if len(violations) > 20:
        print("  ... %d more" % (len(violations) - 20))
    if args.figures:
        with open(args.figures, "w") as f:
            json.dump({"acknowledged": acknowledged, "lost": lost, "resurrected": resurrected,
                       "stuck": stuck}, f)
    return 1 if (lost or resurrected or stuck) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--journal", required=True)
    r.add_argument("--prefix", required=True)
    r.add_argument("--clients", type=int, default=32)
    r.add_argument("--duration", type=float, default=30.0)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--procs", type=int, default=4)
    c = sub.add_parser("check")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--settle", type=float, default=30.0)
    c.add_argument("--figures")
    c.add_argument("journals", nargs="+")
    args = p.parse_args()
    socket.setdefaulttimeout(20)
    return run(args) if args.cmd == "run" else check(args)


if __name__ == "__main__":
    sys.exit(main())
