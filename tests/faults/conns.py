#!/usr/bin/env python3
"""Connection campaigns against one running osbd (tests/faults/connections.sh drives them).

  conns.py slowloris --port P --pid PID [--conns 500] [--duration 15]
  conns.py idle      --port P --pid PID [--conns 5000] [--hold 10]
  conns.py unauth    --port P --pid PID [--conns 1000] [--timeout 20]
  conns.py fds       --port P --pid PID --log FILE [--conns 400] [--hold 10]
  conns.py cap       --port P --pid PID --cap N [--conns 150]
  conns.py bodies    --port P --pid PID [--budget-mb 64] [--conns 1000] [--hold 5]

Every campaign samples osbd's /proc/PID (VmRSS, VmHWM, open descriptors, CPU time) while it
runs, prints its figures and one `ok`/`FAIL` line per expectation, and ends with
`checks: N passed, M failed` (exit status 1 on a failure). Traffic goes to 127.0.0.1 only;
thousands of sockets are driven from one process with selectors.
"""

import argparse
import base64
import errno
import http.client
import json
import os
import selectors
import socket
import sys
import threading
import time

AUTH = "Basic " + base64.b64encode(b"osbd:osbd-dev-password").decode()
CATALOG_REQUEST = ("GET /v2/catalog HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                   "X-Broker-API-Version: 2.17\r\n\r\n" % AUTH).encode()
RSS_LIMIT_MB = 200


class Sampler(threading.Thread):
    """Samples osbd's memory, descriptors and CPU time every 100 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss_kb = 0
        self.hwm_kb = 0
        self.peak_fds = 0
        self.running = True
        self.alive = True
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        except OSError:
            return 0.0

    def sample(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
                    elif line.startswith("VmHWM:"):
                        self.hwm_kb = max(self.hwm_kb, int(line.split()[1]))
            self.peak_fds = max(self.peak_fds, len(os.listdir("/proc/%d/fd" % self.pid)))
        except OSError:
            self.alive = False

    def run(self):
        while self.running:
            self.sample()
            time.sleep(0.1)

    def stop(self):
        self.running = False
        self.join(2)
        self.sample()

    def figures(self):
        return "peak_rss=%.1f MB (VmHWM %.1f MB) peak_fds=%d" % (
            self.peak_rss_kb / 1024, self.hwm_kb / 1024, self.peak_fds)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def expect(self, name, ok, detail):
        if ok:
            self.passed += 1
            print("ok   %s (%s)" % (name, detail))
        else:
            self.failed += 1
            print("FAIL %s (%s)" % (name, detail))

    def finish(self):
        print("checks: %d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def timed_request(port, timeout=5.0):
    """One authenticated GET /v2/catalog on a fresh connection: (status or None, seconds)."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(CATALOG_REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
            # Read the rest until close, so the whole answer counts.
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
    except (OSError, ValueError, IndexError):
        return None, time.monotonic() - t0
    return status, time.monotonic() - t0


def open_many(port, count, deadline):
    """Opens COUNT connections (non-blocking connect, bounded by DEADLINE): list of sockets."""
    socks = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            continue
        socks.append(s)
    # Wait until connected (or failed).
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    pending = len(socks)
    connected = []
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.append(s)
            else:
                s.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return connected


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def latency_figures(latencies):
    if not latencies:
        return "no requests"
    ordered = sorted(latencies)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return "n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms" % (len(ordered), p(0.5), p(0.99),
                                                          ordered[-1] * 1000)


# --- (a) slowloris ----------------------------------------------------------------------------

def slowloris(args, checks, sampler):
    deadline = time.monotonic() + args.duration + 30
    socks = open_many(args.port, args.conns, deadline)
    print("slowloris: %d of %d connections open" % (len(socks), args.conns))
    header = b"GET /v2/catalog HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
    sent = {s: 0 for s in socks}
    closed_by_osbd = 0
    latencies, failures = [], 0
    end = time.monotonic() + args.duration
    next_drip = 0.0
    drip_every = 2.0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_drip:
            # One header byte per connection every drip_every seconds (spread over the interval).
            for s in list(sent):
                try:
                    s.send(header[sent[s]:sent[s] + 1])
                    sent[s] += 1
                except OSError:
                    closed_by_osbd += 1
                    del sent[s]
                    s.close()
            next_drip = now + drip_every
        status, seconds = timed_request(args.port)
        if status == 200:
            latencies.append(seconds)
        else:
            failures += 1
        time.sleep(0.05)
    close_all(sent)
    print("slowloris: normal client %s, failed=%d; slow connections closed by osbd: %d" % (
        latency_figures(latencies), failures, closed_by_osbd))
    worst = max(latencies) * 1000 if latencies else float("inf")
    checks.expect("slowloris: every normal request succeeds", failures == 0 and latencies,
                  "%d ok, %d failed" % (len(latencies), failures))
    checks.expect("slowloris: every normal request under 100 ms", worst < 100,
                  "max %.1f ms" % worst)


# --- (b) idle keep-alive connections ----------------------------------------------------------

def read_responses(socks, request, deadline, keep_open=True):
    """Sends REQUEST on every socket and reads one response each: dict status -> count."""
    sel = selectors.DefaultSelector()
    state = {}
    for s in socks:
        state[s] = {"out": request, "in": b"", "status": None, "need": None}
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
    statuses = {}
    open_count = len(socks)
    while open_count and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            s = key.fileobj
            st = state[s]
            try:
                if events & selectors.EVENT_WRITE and st["out"]:
                    n = s.send(st["out"])
                    st["out"] = st["out"][n:]
                    if not st["out"]:
                        sel.modify(s, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionResetError("closed")
                    st["in"] += chunk
            except OSError:
                sel.unregister(s)
                open_count -= 1
                key_name = "status-%s" % st["status"] if st["status"] else "closed-without-answer"
                statuses[key_name] = statuses.get(key_name, 0) + 1
                continue
            data = st["in"]
            if st["status"] is None and b"\r\n\r\n" in data:
                head, _, _ = data.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                st["status"] = int(lines[0].split(b" ", 2)[1])
                st["need"] = len(head) + 4
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        st["need"] += int(value.strip())
            if st["status"] is not None and len(st["in"]) >= st["need"]:
                sel.unregister(s)
                open_count -= 1
                statuses[st["status"]] = statuses.get(st["status"], 0) + 1
    for key in list(sel.get_map().values()):
        statuses["no-answer-in-time"] = statuses.get("no-answer-in-time", 0) + 1
        sel.unregister(key.fileobj)
    sel.close()
    return statuses


def idle(args, checks, sampler):
    deadline = time.monotonic() + 60
    socks = open_many(args.port, args.conns, deadline)
    print("idle: %d of %d connections open" % (len(socks), args.conns))
    statuses = read_responses(socks, CATALOG_REQUEST, deadline)
    print("idle: answers to the first request: %s" % statuses)
    checks.expect("idle: every connection answered 200 once", statuses.get(200, 0) == args.conns,
                  "%d of %d" % (statuses.get(200, 0), args.conns))
    hold_end = time.monotonic() + args.hold
    latencies, failures = [], 0
    while time.monotonic() < hold_end:
        status, seconds = timed_request(args.port)
        if status == 200:
            latencies.append(seconds)
        else:
            failures += 1
        time.sleep(0.2)
    # How many idle connections osbd still holds (a closed one reads EOF).
    still_open = 0
    for s in socks:
        try:
            s.setblocking(False)
            data = s.recv(1)
            if data:
                still_open += 1
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
    close_all(socks)
    print("idle: normal client while %d connections idle: %s, failed=%d; still open after "
          "%.0f s: %d" % (len(socks), latency_figures(latencies), failures, args.hold, still_open))
    checks.expect("idle: normal requests succeed meanwhile", failures == 0 and latencies,
                  "%d ok, %d failed" % (len(latencies), failures))


# --- (c) unauthenticated large bodies, (f) authenticated bodies over the budget ---------------

BODY_LEN = 983040


def send_bodies(port, count, authenticated, slow_share, deadline):
    """COUNT connections each announcing a BODY_LEN body: a SLOW_SHARE of them trickle it (1 KiB
    every 0.5 s), the others send it at full speed, until osbd answers or DEADLINE. Returns
    (outcomes: dict, answer times in s, count of answers carrying Retry-After, still waiting)."""
    auth = "Authorization: %s\r\n" % AUTH if authenticated else ""
    head = ("PUT /v2/service_instances/body-%%d HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
            "X-Broker-API-Version: 2.17\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (auth, BODY_LEN))
    chunk = b"x" * 65536
    socks = open_many(port, count, deadline)
    sel = selectors.DefaultSelector()
    st = {}
    slow_every = int(round(1 / slow_share)) if slow_share > 0 else 0
    for i, s in enumerate(socks):
        st[s] = {"head": (head % i).encode(), "left": BODY_LEN,
                 "slow": slow_every > 0 and i % slow_every == 0, "next": 0.0, "in": b""}
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    results = {}
    answer_times = []
    retry_after = 0
    t0 = time.monotonic()

    def finish(s, outcome):
        sel.unregister(s)
        s.close()
        results[outcome] = results.get(outcome, 0) + 1

    while sel.get_map() and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.1):
            s = key.fileobj
            c = st[s]
            now = time.monotonic()
            try:
                if events & selectors.EVENT_READ:
                    data = s.recv(65536)
                    if not data:
                        finish(s, "closed-without-answer")
                        continue
                    c["in"] += data
                    if b"\r\n\r\n" in c["in"] or len(c["in"]) > 8192:
                        head_text = c["in"].split(b"\r\n\r\n", 1)[0].lower()
                        status = int(c["in"].split(b" ", 2)[1])
                        answer_times.append(now - t0)
                        if b"\r\nretry-after:" in head_text:
                            retry_after += 1
                        finish(s, "status-%d" % status)
                        continue
                if events & selectors.EVENT_WRITE:
                    if c["head"]:
                        c["head"] = c["head"][s.send(c["head"]):]
                    elif c["left"] > 0:
                        piece = chunk[:min(1024 if c["slow"] else len(chunk), c["left"])]
                        c["left"] -= s.send(piece)
                        if c["slow"]:
                            c["next"] = now + 0.5
                            sel.modify(s, selectors.EVENT_READ)
                    if not c["head"] and c["left"] == 0:
                        sel.modify(s, selectors.EVENT_READ)
            except (ConnectionResetError, BrokenPipeError):
                finish(s, "reset-without-answer")
            except (OSError, ValueError, IndexError):
                finish(s, "error-without-answer")
        # Re-arm slow writers whose pause is over.
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            c = st[key.fileobj]
            if c["slow"] and c["left"] > 0 and now >= c["next"] and \
                    not key.events & selectors.EVENT_WRITE:
                sel.modify(key.fileobj, selectors.EVENT_READ | selectors.EVENT_WRITE)
    waiting = len(sel.get_map())
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        key.fileobj.close()
    sel.close()
    answer_times.sort()
    return results, answer_times, retry_after, waiting, len(socks)


def time_figures(times):
    if not times:
        return "no answers"
    return "answered by %.2f s (median %.2f s)" % (times[-1], times[len(times) // 2])


def unauth(args, checks, sampler):
    results, times, _, waiting, opened = send_bodies(args.port, args.conns, False, 0.5,
                                                     time.monotonic() + args.timeout)
    print("unauth: %d of %d connections open; outcomes %s, no answer after %.0f s: %d; %s" % (
        opened, args.conns, results, args.timeout, waiting, time_figures(times)))
    got = results.get("status-401", 0)
    checks.expect("unauth: every connection gets 401", got == opened == args.conns,
                  "%d of %d" % (got, args.conns))


def bodies(args, checks, sampler):
    """Authenticated connections all trickling a 960 KiB body: the bodies osbd accepts to
    receive at once are bounded (limits.max_body_bytes_in_flight, 64 MiB by default); the
    others get 503 with Retry-After at once."""
    budget = args.budget_mb << 20
    fit = budget // BODY_LEN
    results, times, retry_after, waiting, opened = send_bodies(
        args.port, args.conns, True, 1.0, time.monotonic() + args.hold)
    refused = results.get("status-503", 0)
    print("bodies: %d of %d connections open; outcomes %s; still receiving after %.0f s: %d "
          "(the budget fits %d); 503 with Retry-After: %d; %s" % (
              opened, args.conns, results, args.hold, waiting, fit, retry_after,
              time_figures(times)))
    want = args.conns - fit
    checks.expect("bodies: connections over the body budget get 503",
                  want - 2 <= refused <= want and opened == args.conns,
                  "%d, want %d" % (refused, want))
    checks.expect("bodies: every 503 carries Retry-After", retry_after == refused,
                  "%d of %d" % (retry_after, refused))
    checks.expect("bodies: no other answer", sum(results.values()) == refused,
                  "outcomes %s" % results)
    # Once the connections are gone their budget is back: a provision with a body goes through.
    body = json.dumps({"service_id": "9bf6d9ad-db1c-479b-ba8e-648564c66a55",
                       "plan_id": "700556d0-4a22-4ed7-8a5c-004d693b5286",
                       "organization_guid": "org-faults", "space_guid": "space-faults"})
    status = None
    for attempt in range(1, 11):
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
        try:
            conn.request("PUT", "/v2/service_instances/bodies-after-%d" % attempt, body=body,
                         headers={"Authorization": AUTH, "X-Broker-API-Version": "2.17",
                                  "Content-Type": "application/json"})
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            status = None
        finally:
            conn.close()
        if status == 201:
            break
        time.sleep(0.2)
    checks.expect("bodies: a provision with a body succeeds once they are closed", status == 201,
                  "status %s after %d attempt(s)" % (status, attempt))


# --- (e) over limits.max_connections -----------------------------------------------------------

def cap(args, checks, sampler):
    deadline = time.monotonic() + 30
    socks = open_many(args.port, args.conns, deadline)
    t0 = time.monotonic()
    statuses = read_responses(socks, CATALOG_REQUEST, time.monotonic() + 5)
    elapsed = time.monotonic() - t0
    served = statuses.get(200, 0)
    refused = statuses.get(503, 0) + statuses.get("closed-without-answer", 0) + \
        statuses.get("status-503", 0)
    print("cap: %d connections with limits.max_connections=%d: %s in %.2f s" % (
        len(socks), args.cap, statuses, elapsed))
    checks.expect("cap: connections up to the cap are served", served == args.cap,
                  "%d served, cap %d" % (served, args.cap))
    checks.expect("cap: the others are refused at once (503 or closed)",
                  refused == len(socks) - args.cap and not statuses.get("no-answer-in-time"),
                  "%d refused, %d expected" % (refused, len(socks) - args.cap))
    close_all(socks)
    ok_after = False
    for _ in range(25):
        status, _ = timed_request(args.port)
        if status == 200:
            ok_after = True
            break
        time.sleep(0.2)
    checks.expect("cap: a normal request succeeds once they are closed", ok_after, "")


# --- (d) descriptor exhaustion ----------------------------------------------------------------

def accept_failed_lines(path):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if '"accept failed"' in line)
    except OSError:
        return 0


def fds(args, checks, sampler):
    before_lines = accept_failed_lines(args.log)
    cpu0 = sampler.cpu_seconds()
    t0 = time.monotonic()
    deadline = t0 + 30
    socks = open_many(args.port, args.conns, deadline)
    # Send a request on each so osbd has work for those it accepted.
    statuses = read_responses(socks, CATALOG_REQUEST, time.monotonic() + 3)
    print("fds: %d of %d connections open; answers within 3 s: %s" % (len(socks), args.conns,
                                                                    statuses))
    rest = args.hold - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)
    cpu = sampler.cpu_seconds() - cpu0
    elapsed = time.monotonic() - t0
    close_all(socks)
    lines = accept_failed_lines(args.log) - before_lines
    ok_after, attempts, after_latency = False, 0, None
    end = time.monotonic() + 10
    while time.monotonic() < end:
        attempts += 1
        status, seconds = timed_request(args.port, timeout=3)
        if status == 200:
            ok_after, after_latency = True, seconds
            break
        time.sleep(0.2)
    print("fds: osbd CPU %.2f s over %.1f s with %d connections; %d \"accept failed\" lines; "
          "normal request after closing: %s (attempt %d%s)" % (
              cpu, elapsed, len(socks), lines, "200" if ok_after else "failed", attempts,
              ", %.1f ms" % (after_latency * 1000) if after_latency is not None else ""))
    checks.expect("fds: osbd does not spin", cpu < 2.0 * elapsed / 10.0,
                  "CPU %.2f s over %.1f s, limit %.2f s" % (cpu, elapsed, 2.0 * elapsed / 10.0))
    checks.expect("fds: few \"accept failed\" lines", lines < 20, "%d lines" % lines)
    checks.expect("fds: a normal request succeeds after the connections close", ok_after,
                  "%d attempts" % attempts)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("campaign", choices=["slowloris", "idle", "unauth", "fds", "cap", "bodies"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--conns", type=int)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--hold", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--log")
    p.add_argument("--cap", type=int, default=100, help="osbd's limits.max_connections (cap)")
    p.add_argument("--budget-mb", type=int, default=64,
                   help="osbd's limits.max_body_bytes_in_flight in MiB (bodies)")
    args = p.parse_args()
    defaults = {"slowloris": 500, "idle": 5000, "unauth": 1000, "fds": 400, "cap": 150,
                "bodies": 1000}
    if args.conns is None:
        args.conns = defaults[args.campaign]
    checks = Checks()
    sampler = Sampler(args.pid)
    sampler.start()
    try:
        {"slowloris": slowloris, "idle": idle, "unauth": unauth, "fds": fds, "cap": cap,
         "bodies": bodies}[args.campaign](args, checks, sampler)
    finally:
        sampler.stop()
    print("%s: %s" % (args.campaign, sampler.figures()))
    checks.expect("%s: osbd still running" % args.campaign, sampler.alive, "pid %d" % args.pid)
    checks.expect("%s: peak RSS under %d MB" % (args.campaign, RSS_LIMIT_MB),
                  max(sampler.peak_rss_kb, sampler.hwm_kb) < RSS_LIMIT_MB * 1024,
                  "%.1f MB" % (max(sampler.peak_rss_kb, sampler.hwm_kb) / 1024))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
