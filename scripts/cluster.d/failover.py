#!/usr/bin/env python3
"""The failover test of scripts/cluster: order load through the HTTP load balancer, the primary
crashed under it, then an audit on the new primary. Standard library only (plus psql).

Run by `scripts/cluster failover-test` once the topology is up; it reads the topology's ports and
pids from the file `scripts/cluster` writes. Prints one summary line:

    failover: N acknowledged, N found, 0 lost, stock conserved, recovered in S s

and exits 1 when any assertion fails (lost or altered orders, stock not conserved, a request past
the write timeout, a failure other than 503 with Retry-After, a second order from a retried key,
an instance that did not recover or was restarted).

Every option's default can be set in the environment as FAILOVER_<OPTION> (FAILOVER_THREADS,
FAILOVER_METHOD, FAILOVER_STALL_REPLICATION, ...); options after `scripts/cluster failover-test`
are passed here.
"""

import argparse
import http.client
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

T0 = time.monotonic()


def say(message):
    print(f"[failover {time.monotonic() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def parse_duration(text):
    text = text.strip()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def read_topology(path):
    topology = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            parts = shlex.split(value)
            topology[key] = parts[0] if len(parts) == 1 else " ".join(parts)
    return topology


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "headers", "body", "started", "duration", "error")

    def __init__(self, status, headers, body, started, duration, error=None):
        self.status, self.headers, self.body = status, headers, body
        self.started, self.duration, self.error = started, duration, error

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def request(port, method, path, body=None, headers=None, timeout=20.0):
    """One HTTP request on a fresh connection; never raises: a transport error is status None."""
    all_headers = {"Content-Type": "application/json", "Connection": "close"}
    token = os.environ.get("SQLSTORE_TOKEN")
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    payload = json.dumps(body).encode() if body is not None else None
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Response(response.status, headers, data, started, time.monotonic() - started)
    except Exception as error:  # timeouts, resets, refusals
        return Response(None, {}, b"", started, time.monotonic() - started, f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def http_get_json(port, path, timeout=2.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return json.loads(response.read())
    except Exception:
        return None


# ------------------------------------------------------------------------------------------------
# PostgreSQL (psql) and Patroni
# ------------------------------------------------------------------------------------------------

def psql(topology, port, sql, timeout=60):
    result = subprocess.run(
        [topology["PSQL"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port),
         "-U", "postgres", "-d", "shop", "-f", "-"],
        input=sql, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"psql on port {port} failed: {result.stderr.strip()}")
    return [line.split("|") for line in result.stdout.splitlines() if line]


def psql_ok(topology, port):
    try:
        return psql(topology, port, "SELECT pg_is_in_recovery()", timeout=5) == [["f"]]
    except Exception:
        return False


def cluster_members(topology):
    for port in topology["API_PORTS"].split():
        data = http_get_json(int(port), "/cluster")
        if data:
            return data.get("members", [])
    return []


def roles(topology):
    return {m["name"]: (m["role"], m.get("state")) for m in cluster_members(topology)}


def node_index(topology, name):
    return topology["NODE_NAMES"].split().index(name)


def postmaster_pid(topology, name):
    with open(os.path.join(topology["STATE"], name, "data", "postmaster.pid")) as f:
        return int(f.readline())


def children_of(pid):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return children


def kill(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# ------------------------------------------------------------------------------------------------
# The load
# ------------------------------------------------------------------------------------------------

class Load:
    def __init__(self, port, users, products, run_id, threads, max_per_thread, timeout):
        self.port, self.users, self.products, self.run_id = port, users, products, run_id
        self.threads, self.max_per_thread, self.timeout = threads, max_per_thread, timeout
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.records = []  # (key, body, Response)
        self.workers = []

    def body(self, rng):
        lines = rng.sample(self.products, rng.randint(1, min(3, len(self.products))))
        return {"user_id": rng.choice(self.users),
                "items": [{"product_id": p, "quantity": rng.randint(1, 3)} for p in lines]}

    def worker(self, n):
        rng = random.Random(f"{self.run_id}-{n}")
        for i in range(self.max_per_thread):
            if self.stop.is_set():
                return
            key = f"fo-{self.run_id}-{n}-{i}"
            body = self.body(rng)
            response = request(self.port, "POST", "/orders", body, {"Idempotency-Key": key}, timeout=self.timeout)
            with self.lock:
                self.records.append((key, body, response))
            if response.status != 201:
                time.sleep(0.05)  # a client backing off a little; Retry-After is honoured by the retry pass

    def start(self):
        for n in range(self.threads):
            thread = threading.Thread(target=self.worker, args=(n,), daemon=True)
            thread.start()
            self.workers.append(thread)

    def finish(self, timeout):
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.workers:
            thread.join(max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.workers)

    def snapshot(self):
        with self.lock:
            return list(self.records)


class ReadinessProbe:
    """Polls each instance's /health/ready directly, to time how long each takes to recover."""

    def __init__(self, ports):
        self.ports, self.samples, self.stop = ports, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for port in self.ports:
                r = request(port, "GET", "/health/ready", timeout=3)
                self.samples.append((r.started, port, r.status))
            time.sleep(0.2)


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", required=True)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FAILOVER_THREADS", 8)))
    parser.add_argument("--before", type=float, default=float(os.environ.get("FAILOVER_BEFORE", 4)),
                        help="seconds of load before the crash")
    parser.add_argument("--after", type=float, default=float(os.environ.get("FAILOVER_AFTER", 4)),
                        help="seconds of load after the recovery")
    parser.add_argument("--max-outage", type=float, default=float(os.environ.get("FAILOVER_MAX_OUTAGE", 90)),
                        help="give up when orders are not placed again within this")
    parser.add_argument("--method", choices=["crash", "switchover", "postmaster"], default=os.environ.get("FAILOVER_METHOD", "crash"),
                        help="crash: kill -9 the leader's Patroni, postmaster and backends (a node lost); "
                             "switchover: ask Patroni's REST API for a failover to the standby; "
                             "postmaster: kill -9 of the postmaster only (Patroni restarts it in place: no failover)")
    parser.add_argument("--stall-replication", type=float, default=float(os.environ.get("FAILOVER_STALL_REPLICATION", 1.0)),
                        help="SIGSTOP the primary's WAL sender this long right before the crash, so the "
                             "primary holds commits the standby has not received (0: off)")
    parser.add_argument("--slack", type=float, default=float(os.environ.get("FAILOVER_SLACK", 3.0)),
                        help="seconds a request may take beyond the write timeout")
    parser.add_argument("--retry-sample", type=int, default=int(os.environ.get("FAILOVER_RETRY_SAMPLE", 25)))
    parser.add_argument("--rejoin", type=int, default=int(os.environ.get("FAILOVER_REJOIN", 1)),
                        help="1: restart the crashed node's Patroni and time its return as a standby")
    args = parser.parse_args()

    topology = read_topology(args.topology)
    lb = int(topology["HAPROXY_HTTP_PORT"])
    serve_ports = [int(p) for p in topology["SERVE_PORTS"].split()]
    serve_pids = [int(p) for p in topology["SERVE_PIDS"].split()]
    pg_ports = [int(p) for p in topology["PG_PORTS"].split()]
    api_ports = [int(p) for p in topology["API_PORTS"].split()]
    patroni_pids = [int(p) for p in topology["PATRONI_PIDS"].split()]
    write_timeout = parse_duration(topology["WRITE_TIMEOUT"])
    replication = topology["REPLICATION"]
    run_id = uuid.uuid4().hex[:8]
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)
            say("FAIL: " + message)

    # -- Users and products, through the API -------------------------------------------------
    def create(path, body):
        for _ in range(20):
            r = request(lb, "POST", path, body, timeout=write_timeout + 5)
            if r.status == 201:
                return r.json()["id"]
            time.sleep(0.5)
        raise SystemExit(f"failover: could not create {path}: {r.status} {r.error or r.body[:200]!r}")

    users = [create("/users", {"email": f"failover-{run_id}-{i}@example.com", "name": f"Failover {i}"}) for i in range(4)]
    initial_stock = 1_000_000
    products = [create("/products", {"sku": f"FO-{run_id}-{i}", "name": f"Failover item {i}",
                                     "price": f"{3 + i}.50", "stock_quantity": initial_stock}) for i in range(6)]
    say(f"created users {users} and products {products}, {initial_stock} units each")

    before = roles(topology)
    leader = next((n for n, (r, _) in before.items() if r == "leader"), None)
    standby = next((n for n in before if n != leader), None)
    check(leader is not None and standby is not None, f"no leader and standby before the crash: {before}")
    if failures:
        return finish(failures, 0, 0, False, None)
    say(f"roles before: {before}")
    leader_index, standby_index = node_index(topology, leader), node_index(topology, standby)

    # -- Load, crash, recovery --------------------------------------------------------------
    request_timeout = write_timeout + 15
    load = Load(lb, users, products, run_id, args.threads, 100_000, request_timeout)
    probe = ReadinessProbe(serve_ports)
    probe.thread.start()
    load.start()
    time.sleep(args.before)
    acknowledged_before = sum(1 for _, _, r in load.snapshot() if r.status == 201)
    say(f"{acknowledged_before} orders acknowledged before the crash")
    check(acknowledged_before > 0, "no order was acknowledged before the crash")

    stalled = None
    if args.stall_replication > 0 and args.method == "crash":
        # The primary's WAL sender, not the standby's receiver: what the sender has written to
        # the socket still reaches a stopped receiver after the crash.
        rows = psql(topology, pg_ports[leader_index], "SELECT pid FROM pg_stat_replication")
        if rows:
            stalled = int(rows[0][0])
            kill(stalled, signal.SIGSTOP)
            say(f"stalled replication to {standby} (SIGSTOP of {leader}'s WAL sender, pid {stalled}) for {args.stall_replication} s")
            time.sleep(args.stall_replication)

    if args.method == "crash":
        postmaster = postmaster_pid(topology, leader)
        backends = children_of(postmaster)
        crash_at = time.monotonic()
        kill(patroni_pids[leader_index])
        kill(postmaster)
        for pid in backends:
            kill(pid)
        say(f"crashed {leader}: kill -9 of Patroni (pid {patroni_pids[leader_index]}), "
            f"the postmaster (pid {postmaster}) and its {len(backends)} children")
    elif args.method == "postmaster":
        postmaster = postmaster_pid(topology, leader)
        crash_at = time.monotonic()
        kill(postmaster)
        say(f"kill -9 of {leader}'s postmaster (pid {postmaster}); its Patroni stays up")
    else:
        crash_at = time.monotonic()
        data = json.dumps({"leader": leader, "candidate": standby}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{api_ports[standby_index]}/failover", data=data,
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                say(f"switchover requested: {response.status} {response.read()[:200]!r}")
        except Exception as error:
            check(False, f"POST /failover failed: {error}")

    # The new leader: the standby, unless Patroni restarts the old primary in place.
    expected = leader if args.method == "postmaster" else standby
    promoted_at = None
    deadline = crash_at + args.max_outage
    while time.monotonic() < deadline:
        now_roles = roles(topology)
        if (now_roles.get(expected, (None,))[0] == "leader" and now_roles[expected][1] == "running"
                and psql_ok(topology, pg_ports[node_index(topology, expected)])):
            promoted_at = time.monotonic()
            break
        time.sleep(0.2)
    check(promoted_at is not None, f"{expected} was not leading within {args.max_outage} s: {roles(topology)}")
    if promoted_at:
        say(f"{expected} {'promoted' if expected == standby else 'primary again'} {promoted_at - crash_at:.1f} s after the crash")

    # Recovered: the first acknowledged order sent after the crash and after the last failure.
    def recovery(records):
        last_failure = max((r.started for _, _, r in records if r.status != 201 and r.started > crash_at - 2), default=crash_at)
        return min((r.started + r.duration for _, _, r in records
                    if r.status == 201 and r.started > max(crash_at, last_failure)), default=None)

    recovered_at = None
    while time.monotonic() < deadline and promoted_at:
        recovered_at = recovery(load.snapshot())
        if recovered_at and time.monotonic() - recovered_at > 1:
            break
        time.sleep(0.1)
    check(recovered_at is not None, f"no order was acknowledged within {args.max_outage} s of the crash")
    if recovered_at:
        time.sleep(args.after)
    if not load.finish(request_timeout + 5):
        check(False, "load threads did not finish within the request timeout")
    probe.stop.set()
    probe.thread.join(5)
    records = load.snapshot()
    recovered_at = recovery(records) if recovered_at else None
    if recovered_at:
        say(f"orders acknowledged again, for good, {recovered_at - crash_at:.1f} s after the "
            f"{'crash' if args.method == 'crash' else 'switchover request'}")

    # -- The answers ----------------------------------------------------------------------
    acked = {key: (body, r) for key, body, r in records if r.status == 201}
    failed = [(key, body, r) for key, body, r in records if r.status != 201]
    statuses = {}
    for _, _, r in records:
        statuses[r.status or r.error.split(":")[0]] = statuses.get(r.status or r.error.split(":")[0], 0) + 1
    say(f"{len(records)} requests: {statuses}")
    slowest = max((r.duration for _, _, r in records), default=0)
    say(f"slowest request {slowest:.2f} s (write timeout {write_timeout:.0f} s + {args.slack:.0f} s slack allowed)")
    check(slowest <= write_timeout + args.slack, f"a request took {slowest:.2f} s, past the write timeout")
    if failed:
        first = min(r.started for _, _, r in failed) - crash_at
        last = max(r.started + r.duration for _, _, r in failed) - crash_at
        say(f"failures from {first:+.1f} s to {last:+.1f} s around the crash")
    from_lb = sum(1 for _, _, r in failed if r.status == 503 and b"no instance is ready" in r.body)
    say(f"503s: {len(failed) - from_lb} from the instances (database unavailable), "
        f"{from_lb} from HAProxy while no instance was ready")
    bad = [(key, r) for key, _, r in failed if r.status != 503 or "retry-after" not in r.headers]
    for key, r in bad[:5]:
        say(f"  bad answer for {key}: {r.status} {r.error or ''} headers={r.headers} body={r.body[:200]!r}")
    check(not bad, f"{len(bad)} failures were not 503 with Retry-After "
                   f"({sum(1 for _, r in bad if r.status == 500)} were 500, {sum(1 for _, r in bad if r.status is None)} got no HTTP answer)")
    ids = {}
    for key, (body, r) in acked.items():
        data = r.json() or {}
        ids[key] = data.get("id")
    check(all(ids.values()), "a 201 without an order id")

    # -- The audit, on the new primary -------------------------------------------------------
    new_leader = next((n for n, (r, _) in roles(topology).items() if r == "leader"), expected)
    audit_port = pg_ports[node_index(topology, new_leader)]
    in_recovery = psql(topology, audit_port, "SELECT pg_is_in_recovery()")[0][0]
    check(in_recovery == "f", f"{new_leader} is in recovery")
    id_list = ",".join(str(i) for i in ids.values() if i) or "0"
    rows = psql(topology, audit_port, f"""
        SELECT o.id, o.user_id, string_agg(oi.product_id || 'x' || oi.quantity, ',' ORDER BY oi.product_id)
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.id IN ({id_list}) GROUP BY o.id, o.user_id""")
    stored = {int(row[0]): (int(row[1]), row[2]) for row in rows}
    keys = dict((row[0], int(row[1])) for row in psql(
        topology, audit_port, f"SELECT key, order_id FROM idempotency_keys WHERE key LIKE 'fo-{run_id}-%'"))
    found, lost, altered = 0, [], []
    for key, (body, _) in acked.items():
        order_id = ids[key]
        if order_id not in stored:
            lost.append((key, order_id))
            continue
        expected = ",".join(f"{i['product_id']}x{i['quantity']}" for i in sorted(body["items"], key=lambda i: i["product_id"]))
        if stored[order_id] != (body["user_id"], expected) or keys.get(key) != order_id:
            altered.append((key, order_id, stored[order_id], expected, keys.get(key)))
        else:
            found += 1
    for key, order_id in lost[:10]:
        say(f"  LOST: order {order_id} (key {key}) was answered 201 but is not on {new_leader}")
    for item in altered[:5]:
        say(f"  ALTERED: {item}")
    check(not lost, f"{len(lost)} acknowledged orders are missing on the new primary")
    check(not altered, f"{len(altered)} acknowledged orders are replaced by different orders under the same id "
                       f"(the new primary reissued ids it never knew were used)")
    failed_keys = {key for key, _, _ in failed}
    committed_behind_failure = len(failed_keys & set(keys))
    say(f"audit on {new_leader}: {found} of {len(acked)} acknowledged orders found with their items; "
        f"{committed_behind_failure} of {len(failed_keys)} failed requests had committed anyway (the ambiguity the key resolves)")

    product_list = ",".join(str(p) for p in products)
    stock_sql = f"""
        SELECT p.id, p.stock_quantity,
               coalesce((SELECT sum(oi.quantity) FROM order_items oi JOIN orders o ON o.id = oi.order_id
                         WHERE oi.product_id = p.id AND o.status <> 'cancelled'), 0)
        FROM products p WHERE p.id IN ({product_list}) ORDER BY p.id"""
    stock_rows = psql(topology, audit_port, stock_sql)
    conserved = len(stock_rows) == len(products) and all(int(s) + int(u) == initial_stock for _, s, u in stock_rows)
    check(conserved, f"stock not conserved: {stock_rows} (initial {initial_stock} each)")

    # -- Retrying with the same key creates no second order -------------------------------------
    rng = random.Random(run_id)
    sample_acked = rng.sample(sorted(acked), min(args.retry_sample, len(acked)))
    sample_failed = rng.sample(sorted(failed_keys), min(args.retry_sample, len(failed_keys)))
    bodies = {key: body for key, body, _ in records}
    # One snapshot for both: an order the instance gave up on (503 at its deadline) may still
    # commit late, and it must be counted on one side only.
    quoted = ",".join(f"'{k}'" for k in sample_failed) or "''"
    row = psql(topology, audit_port, f"""
        SELECT (SELECT count(*) FROM orders),
               coalesce((SELECT string_agg(key, ',') FROM idempotency_keys WHERE key IN ({quoted})), '')""")[0]
    orders_before, committed_failed = int(row[0]), set(filter(None, row[1].split(",")))
    new_keys = [k for k in sample_failed if k not in committed_failed]
    replay_ids = {}
    for round_number in (1, 2):
        for key in sample_acked + sample_failed:
            r = None
            for _ in range(10):
                r = request(lb, "POST", "/orders", bodies[key], {"Idempotency-Key": key}, timeout=request_timeout)
                if r.status != 503:
                    break
                time.sleep(float(r.headers.get("retry-after", "1")))
            order_id = (r.json() or {}).get("id") if r.status == 201 else None
            check(r.status == 201, f"retry {round_number} of {key}: {r.status} {r.error or r.body[:200]!r}")
            if key in acked:
                check(order_id == ids[key], f"retry of acknowledged {key} returned order {order_id}, not {ids[key]}")
                check(r.headers.get("idempotent-replayed") == "true", f"retry of acknowledged {key} was not a replay")
            if round_number == 1:
                replay_ids[key] = order_id
            else:
                check(order_id == replay_ids.get(key), f"second retry of {key} returned {order_id}, first {replay_ids.get(key)}")
                check(r.headers.get("idempotent-replayed") == "true", f"second retry of {key} was not a replay")
    orders_after = int(psql(topology, audit_port, "SELECT count(*) FROM orders")[0][0])
    check(orders_after - orders_before == len(new_keys),
          f"retries created {orders_after - orders_before} orders; expected {len(new_keys)} (the failed keys that had not committed)")
    per_key = psql(topology, audit_port,
                   f"SELECT count(*), count(DISTINCT order_id) FROM idempotency_keys WHERE key LIKE 'fo-{run_id}-%'")
    say(f"retried {len(sample_acked)} acknowledged and {len(sample_failed)} failed keys twice each: "
        f"{orders_after - orders_before} new orders (for the {len(new_keys)} failed keys that had not committed); "
        + ("every acknowledged key replayed its order" if not failures else "see the failures above"))
    stock_rows = psql(topology, audit_port, stock_sql)
    check(all(int(s) + int(u) == initial_stock for _, s, u in stock_rows), f"stock not conserved after the retries: {stock_rows}")
    check(per_key[0][0] == per_key[0][1], f"idempotency keys and orders differ: {per_key}")

    # -- The instances recovered without a restart -----------------------------------------------
    for pid in serve_pids:
        check(alive(pid), f"instance pid {pid} is gone")
    ready_times = []
    for port in serve_ports:
        samples = [(t, s) for t, p, s in probe.samples if p == port and t > crash_at]
        down = [t for t, s in samples if s != 200]
        up_after = [t for t, s in samples if s == 200 and (not down or t > max(down))]
        ready_times.append((min(up_after) - crash_at) if up_after else None)
        r = request(port, "POST", "/orders", bodies[sample_acked[0]] if sample_acked else {"user_id": users[0], "items": [{"product_id": products[0], "quantity": 1}]},
                    {"Idempotency-Key": f"fo-{run_id}-direct-{port}"}, timeout=request_timeout)
        check(r.status == 201, f"instance on port {port} does not place orders after the failover: {r.status} {r.error or r.body[:200]!r}")
    say("instances (same pids) ready again after " + ", ".join(
        f"{t:.1f} s" if t is not None else "never" for t in ready_times) + " (readiness probes, each instance directly)")

    # -- The crashed node comes back as a standby -----------------------------------------------
    if args.rejoin and args.method == "crash" and not failures:
        rejoin(topology, leader, standby, leader_index, replication, say, check)

    recovered = (recovered_at - crash_at) if recovered_at else None
    return finish(failures, len(acked), found, conserved, recovered, lost=len(lost) + len(altered))


def rejoin(topology, old, new, old_index, replication, say, check):
    """Restarts the crashed node's Patroni (as scripts/cluster started it) and times its return."""
    state = topology["STATE"]
    config = os.path.join(state, old, "patroni.yml")
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "env", f"HOME={state}", "USER=postgres"]
    log = open(os.path.join(state, f"patroni-{old}.log"), "a")
    started = time.monotonic()
    process = subprocess.Popen(prefix + ["patroni", config], stdout=log, stderr=subprocess.STDOUT, cwd=state)
    # scripts/cluster stops it with the rest: it reads the pid from here.
    with open(os.path.join(state, f"patroni-{old}.rejoined.pid"), "w") as f:
        f.write(str(process.pid))
    wanted = "sync_standby" if replication == "sync" else "replica"
    deadline = started + 120
    while time.monotonic() < deadline:
        r = roles(topology)
        if r.get(old, (None, None))[0] == wanted and r[old][1] in ("running", "streaming"):
            say(f"{old} rejoined as {wanted} of {new} {time.monotonic() - started:.1f} s after its Patroni restarted (pg_rewind where needed)")
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    check(False, f"{old} did not rejoin as {wanted} within 120 s: {roles(topology)}")


def finish(failures, acknowledged, found, conserved, recovered, lost=None):
    if lost is None:
        lost = acknowledged - found
    recovered_text = f"{recovered:.1f}" if recovered is not None else "never"
    print(f"failover: {acknowledged} acknowledged, {found} found, {lost} lost, "
          f"stock {'conserved' if conserved else 'NOT conserved'}, recovered in {recovered_text} s", flush=True)
    if failures:
        print(f"failover: {len(failures)} assertion(s) failed:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
