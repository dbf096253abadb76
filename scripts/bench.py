#!/usr/bin/env python3
"""The SQLStore benchmark: `sqlstore serve` under real HTTP load (wrk), side by side with its
ceiling (pgbench running the same SQL) on the same throwaway PostgreSQL, in the same run.

Run it through scripts/bench, which installs wrk, pgbench and matplotlib and builds the release
binary; see docs/benchmarks.md for the method. Everything this script starts (PostgreSQL, the
server, wrk, pgbench) is stopped and the cluster deleted when it ends, fails or is interrupted.
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import textwrap
import socket
import statistics
import subprocess
import threading
import sys
import tempfile
import time

HOT_PRODUCTS = 5            # products 1..5 are the hot ones; the rest is the large catalogue
ORDERS_PER_USER = 50
INITIAL_STOCK = 100_000_000  # never sells out during a run: see docs/benchmarks.md
PAGE = 20                    # the API's default page size
SCRIPTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(SCRIPTS)


class Interrupted(Exception):
    pass


def log(message=""):
    print(message, file=sys.stderr, flush=True)


def duration_seconds(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration such as 20s or 1m")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value * 60 if m.group(2) == "m" else value


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


# --------------------------------------------------------------------------------------------
# Processes we own, stopped on every way out.

class Processes:
    def __init__(self):
        self.children = []
        self.cleanups = []

    def spawn(self, argv, **kwargs):
        proc = subprocess.Popen(argv, **kwargs)
        self.children.append(proc)
        return proc

    def forget(self, proc):
        if proc in self.children:
            self.children.remove(proc)

    def stop_all(self):
        for proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    proc.terminate()
                    proc.wait(timeout=10)
                except Exception:
                    try:
                        proc.kill()
                        proc.wait(timeout=5)
                    except Exception:
                        pass
        self.children.clear()
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:  # keep cleaning up
                log(f"cleanup: {error}")
        self.cleanups.clear()


PROCS = Processes()


def on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
    [1] is the parent pid, [11:13] user and system time, [13:15] those of reaped children."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


# --------------------------------------------------------------------------------------------
# The throwaway cluster.

class Cluster:
    def __init__(self, pg_bin, run_dir, shared_buffers, durable=False):
        self.pg_bin = pg_bin
        self.durable = durable
        self.dir = run_dir
        self.data = os.path.join(run_dir, "data")
        self.port = 5432  # socket only (listen_addresses=''): the port just names the socket file
        self.db = "bench"
        self.shared_buffers = shared_buffers
        self.url = f"postgres://postgres@/{self.db}?host={self.dir}"

    def as_pg(self, argv):
        return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)
        subprocess.run(self.as_pg([f"{self.pg_bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                                   "-E", "UTF8", "--no-locale", "--no-instructions"]),
                       check=True, stdout=subprocess.DEVNULL)
        PROCS.cleanups.append(self.stop)
        options = " ".join([
            "-c listen_addresses=''", f"-k {self.dir}", f"-p {self.port}",
            *self.durability_options(),
            "-c max_connections=300", f"-c shared_buffers={self.shared_buffers}",
            "-c shared_preload_libraries=pg_stat_statements", "-c pg_stat_statements.track=top",
            "-c checkpoint_timeout=30min", "-c max_wal_size=4GB",
        ])
        subprocess.run(self.as_pg([f"{self.pg_bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "postgres.log"),
                                   "-w", "-t", "60", "-o", options, "start"]), check=True, stdout=subprocess.DEVNULL)
        self.psql("CREATE DATABASE bench", db="postgres")
        self.psql("CREATE EXTENSION pg_stat_statements")

    def durability_options(self):
        if self.durable:
            # How users run PostgreSQL: every commit waits for its WAL flush (group commit lets
            # concurrent commits share one), and a page's first change after a checkpoint is
            # logged whole.
            return ["-c fsync=on", "-c synchronous_commit=on", "-c full_page_writes=on"]
        # Durability off on both sides (the cluster is thrown away): the disk is out of the
        # comparison, which leaves the service's own overhead in full view.
        return ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]

    def product_updates(self):
        """Updates of products so far, and how many were HOT (they touched no index). A backend
        reports its counters when it exits, or within 10 s of going idle."""
        upd, hot = self.value("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'products'").split("|")
        return int(upd), int(hot)

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self.as_pg([f"{self.pg_bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def psql(self, sql, db=None):
        result = subprocess.run(
            [f"{self.pg_bin}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
             "-U", "postgres", "-d", db or self.db, "-c", sql],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}\n--- SQL ---\n{sql[:2000]}")
        return result.stdout.strip()

    def value(self, sql):
        return self.psql(sql).split("\n")[0]

    def cpu_seconds(self):
        """CPU time of the whole cluster: the postmaster and its live children, plus the children
        it has reaped (cutime/cstime), so a run's delta counts backends that came and went."""
        postmaster, children = self.processes()
        ticks = sum(int(v) for v in postmaster[11:15])
        ticks += sum(int(fields[11]) + int(fields[12]) for fields in children)
        return ticks / os.sysconf("SC_CLK_TCK")

    def children(self):
        """How many processes the postmaster has running now."""
        return len(self.processes()[1])

    def processes(self):
        """The /proc/PID/stat fields of the postmaster, and of each of its live children (one that
        exits meanwhile is skipped: its time goes to the postmaster's cutime)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        own, children = proc_stat(postmaster), []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = proc_stat(entry)
                except OSError:
                    continue
                if int(fields[1]) == postmaster:
                    children.append(fields)
        return own, children

    def settle(self, children, timeout=3.0):
        """Waits until the backends of a finished client have exited and been reaped, so that
        their CPU time is in the postmaster's cutime before cpu_seconds reads it."""
        deadline = time.monotonic() + timeout
        while self.children() > children and time.monotonic() < deadline:
            time.sleep(0.02)

    def version(self):
        return self.value("SHOW server_version")


# --------------------------------------------------------------------------------------------
# Seeding: fast SQL (generate_series), never through HTTP.

class Dataset:
    def __init__(self, scale):
        self.orders = scale                                   # orders of the regular users
        self.users = max(1, scale // ORDERS_PER_USER)          # regular users: 1..users
        self.products = max(1000, scale // ORDERS_PER_USER)    # 1..5 hot, the rest the catalogue
        self.deep_user = self.users + 1                       # one user with a long history
        # The deep page (page 10,000 at --scale 1000000) is followed by ten more pages, so that
        # reading it is a read in the middle of a long list; the last page is measured apart.
        self.deep_page = max(10, scale // 5 // PAGE)
        self.deep_orders = (self.deep_page + 10) * PAGE
        self.total_orders = self.orders + self.deep_orders

    @property
    def deep_pages(self):
        return self.deep_orders // PAGE

    def describe(self):
        return {"users": self.users, "products": self.products, "hot_products": HOT_PRODUCTS,
                "orders": self.orders, "deep_user": self.deep_user, "deep_user_orders": self.deep_orders,
                "deep_user_pages": self.deep_pages, "deep_page": self.deep_page,
                "order_items": 2 * self.total_orders, "initial_stock": INITIAL_STOCK}


def progress(label, done, total, started):
    width = 30
    filled = int(width * done / total) if total else width
    elapsed = time.monotonic() - started
    line = f"\r  {label:<18} [{'#' * filled}{'.' * (width - filled)}] {100 * done / total:5.1f}%  {done:>9,}/{total:,}  {elapsed:5.1f}s"
    sys.stderr.write(line)
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def seed(cluster, ds):
    started = time.monotonic()
    u, p, nr = ds.users, ds.products, ds.orders
    m = p - HOT_PRODUCTS
    # Seeded orders are stamped one second apart, ending a day ago: every user's history is in
    # the past, and orders placed during the run are the newest.
    t0 = f"(timestamptz '{(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1, seconds=ds.total_orders)).isoformat()}')"
    cluster.psql(f"""
        INSERT INTO users (id, email, name, created_at, updated_at)
        SELECT g, 'user' || g || '@bench.example', 'Bench User ' || g, {t0}, {t0} FROM generate_series(1, {u + 1}) g;
        SELECT setval('users_id_seq', {u + 1});
        INSERT INTO products (id, sku, name, description, price, stock_quantity, created_at, updated_at)
        SELECT g, 'BENCH-' || lpad(g::text, 7, '0'), 'Product ' || g, 'A product of the benchmark catalogue',
               ((g * 37) % 9900 + 100) / 100.0, {INITIAL_STOCK}, {t0}, {t0}
        FROM generate_series(1, {p}) g;
        SELECT setval('products_id_seq', {p});
        CREATE SCHEMA bench;
        CREATE TABLE bench.baseline AS SELECT id AS product_id, stock_quantity::bigint AS initial FROM products;
        ALTER TABLE bench.baseline ADD PRIMARY KEY (product_id);
    """)
    progress("users, products", 1, 1, started)
    # Each order: two distinct catalogue products (never the hot ones), 1-3 units, priced from
    # the products; one in twenty cancelled (its stock was returned), the rest spread over the
    # other statuses; the first status change recorded as the service records it.
    chunk = 50_000
    total = ds.total_orders
    orders_started = time.monotonic()
    generated = f"""
        SELECT n, CASE WHEN n <= {nr} THEN (n - 1) % {u} + 1 ELSE {ds.deep_user} END AS user_id,
               p1, {HOT_PRODUCTS + 1} + (p1 - {HOT_PRODUCTS + 1} + 1 + n % ({m} - 1)) % {m} AS p2,
               1 + n % 3 AS q1, 1 + n % 2 AS q2, {t0} + n * interval '1 second' AS ts
        FROM (SELECT n, {HOT_PRODUCTS + 1} + (n * 7919) % {m} AS p1 FROM generate_series(%LO%::bigint, %HI%::bigint) n) s"""
    for lo in range(1, total + 1, chunk):
        hi = min(total, lo + chunk - 1)
        g = generated.replace("%LO%", str(lo)).replace("%HI%", str(hi))
        cluster.psql(f"""
            INSERT INTO orders (id, user_id, order_number, status, total_amount, created_at, updated_at)
            SELECT g.n, g.user_id, 'SO-' || lpad(g.n::text, 8, '0'),
                   CASE WHEN g.n % 20 = 0 THEN 'cancelled' WHEN g.n % 5 = 0 THEN 'pending' WHEN g.n % 5 = 1 THEN 'confirmed'
                        WHEN g.n % 5 = 2 THEN 'shipped' ELSE 'delivered' END,
                   a.price * g.q1 + b.price * g.q2, g.ts, g.ts
            FROM ({g}) g JOIN products a ON a.id = g.p1 JOIN products b ON b.id = g.p2;
            INSERT INTO order_items (order_id, product_id, quantity, unit_price, subtotal, created_at)
            SELECT g.n, x.product_id, x.quantity, pr.price, pr.price * x.quantity, g.ts
            FROM ({g}) g CROSS JOIN LATERAL (VALUES (g.p1, g.q1), (g.p2, g.q2)) x(product_id, quantity)
            JOIN products pr ON pr.id = x.product_id;
            INSERT INTO order_status_changes (order_id, from_status, to_status, changed_at)
            SELECT g.n, NULL, 'pending', g.ts FROM ({g}) g;
        """)
        progress("orders, items", hi, total, orders_started)
    cluster.psql(f"""
        SELECT setval('orders_id_seq', {total});
        SELECT setval('order_number_seq', {total});
        UPDATE products p SET stock_quantity = b.initial - s.sold
        FROM bench.baseline b JOIN (
            SELECT oi.product_id, sum(oi.quantity) AS sold FROM order_items oi JOIN orders o ON o.id = oi.order_id
            WHERE o.status <> 'cancelled' GROUP BY oi.product_id) s ON s.product_id = b.product_id
        WHERE p.id = b.product_id;
    """)
    t = time.monotonic()
    sys.stderr.write("  vacuum analyze ...")
    sys.stderr.flush()
    cluster.psql("VACUUM (ANALYZE)")
    cluster.psql("CHECKPOINT")
    log(f" {time.monotonic() - t:.1f}s")
    return time.monotonic() - started


def stock_invariant(cluster):
    """initial stock = current stock + units of every non-cancelled order's items, per product."""
    row = cluster.value("""
        SELECT count(*) FILTER (WHERE b.initial <> p.stock_quantity + coalesce(s.sold, 0)),
               count(*), coalesce(sum(b.initial - p.stock_quantity - coalesce(s.sold, 0)), 0),
               (SELECT count(*) FROM products WHERE stock_quantity < 0)
        FROM bench.baseline b JOIN products p ON p.id = b.product_id
        LEFT JOIN (SELECT oi.product_id, sum(oi.quantity) AS sold FROM order_items oi JOIN orders o ON o.id = oi.order_id
                   WHERE o.status <> 'cancelled' GROUP BY oi.product_id) s ON s.product_id = p.id""")
    bad, products, drift, negative = (int(x) for x in row.split("|"))
    return {"ok": bad == 0 and negative == 0, "products_checked": products, "products_violating": bad,
            "unit_drift": drift, "negative_stock": negative}


# --------------------------------------------------------------------------------------------
# The server.

class Server:
    def __init__(self, binary, url, run_dir, pool):
        self.binary = binary
        self.url = url
        self.run_dir = run_dir
        self.pool = pool
        self.port = free_port()
        self.proc = None
        self.token = None
        self.env = {}  # extra environment for this server, e.g. {"SQLSTORE_AUTH": "off"}

    def migrate(self):
        result = subprocess.run([self.binary, "migrate", "up", "--database-url", self.url], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"sqlstore migrate up failed:\n{result.stdout}{result.stderr}")
        # Authentication is on, as in production: wrk sends an admin token on every request.
        result = subprocess.run([self.binary, "tokens", "create", "--role", "admin", "--name", "bench",
                                 "--database-url", self.url], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"sqlstore tokens create failed:\n{result.stdout}{result.stderr}")
        self.token = result.stdout.strip()

    def start(self):
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env["SQLSTORE_CURSOR_SECRET"] = "sqlstore-bench-cursor-secret-0123456789"
        # wrk drives one admin token (and, with authentication off, one address) as hard as the
        # server answers: limits far above that, set explicitly, so that nothing is throttled
        # whatever the defaults (docs/security.md); an explicit environment still wins.
        env.setdefault("SQLSTORE_RATE_LIMIT", "1000000/2000000")
        env.setdefault("SQLSTORE_ADMIN_RATE_LIMIT", "1000000/2000000")
        env.update(self.env)
        argv = [self.binary, "serve", "--database-url", self.url, "--host", "127.0.0.1", "--port", str(self.port)]
        if self.pool:
            argv += ["--max-open-conns", str(self.pool)]
        self.log_file = open(os.path.join(self.run_dir, "server.log"), "ab")
        self.proc = PROCS.spawn(argv, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sqlstore serve exited with {self.proc.returncode}; see {self.run_dir}/server.log")
            try:
                status, _ = self.get("/health/ready")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("sqlstore serve did not become ready within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        PROCS.forget(self.proc)

    def get(self, path, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"} if self.token else {})
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        return r.status, body

    def _status_kb(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def reset_peak_rss(self):
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            return True
        except OSError:
            return False

    def peak_rss_mb(self):
        return self._status_kb("VmHWM") / 1024

    def rss_mb(self):
        return self._status_kb("VmRSS") / 1024

    def cpu_seconds(self):
        fields = proc_stat(self.proc.pid)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WaitSampler:
    """Where a write load's store operations wait, sampled every 50 ms while wrk runs: in
    PostgreSQL for a lock, running there, or in the server's queue for a pooled connection.

    PostgreSQL's side is one psql session fed a script of samples and sleeps, each its own
    autocommitted statement: a sampler inside one long transaction (a DO block) would hold back
    the xmin horizon for the whole run, so that no dead row could be pruned and stock updates
    stopped being HOT. The server's side is its `sqlstore_db_operations_in_flight` gauge, read
    from /metrics by a thread.
    """
    INTERVAL = 0.05

    def __init__(self, cluster, server, seconds):
        self.cluster, self.server, self.seconds = cluster, server, seconds
        self.in_flight = []
        self.stop = threading.Event()

    def _gauge(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            while not self.stop.is_set():
                conn.request("GET", "/metrics")
                body = conn.getresponse().read().decode()
                for line in body.splitlines():
                    if line.startswith("sqlstore_db_operations_in_flight"):
                        self.in_flight.append(float(line.split()[-1]))
                time.sleep(self.INTERVAL)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self):
        samples = max(1, int(self.seconds / self.INTERVAL))
        sample = ("SELECT 'WAITS ' || concat_ws(' ', "
                  "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'), "
                  "count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock'), "
                  "count(*) FILTER (WHERE state LIKE 'idle in transaction%'), "
                  "count(*) FILTER (WHERE state = 'idle')) "
                  "FROM pg_stat_activity WHERE application_name = 'sqlstore' AND backend_type = 'client backend';\n"
                  f"SELECT pg_sleep({self.INTERVAL});\n")
        self.psql = PROCS.spawn(self.cluster.as_pg([f"{self.cluster.pg_bin}/psql", "-X", "-q", "-At", "-h", self.cluster.dir,
                                 "-p", str(self.cluster.port), "-U", "postgres", "-d", self.cluster.db]),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.feeder = threading.Thread(target=self._feed, args=(sample, samples), daemon=True)
        self.feeder.start()
        self.thread = threading.Thread(target=self._gauge, daemon=True)
        self.thread.start()
        return self

    def _feed(self, sample, samples):
        try:
            for _ in range(samples):
                if self.stop.is_set():
                    break
                self.psql.stdin.write(sample)
                self.psql.stdin.flush()
                time.sleep(self.INTERVAL)  # psql runs the sleep too: the pipe never runs far ahead
        except (BrokenPipeError, ValueError):
            pass

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.feeder.join()
        try:
            self.psql.stdin.close()  # psql runs what it has read, then exits
        except BrokenPipeError:
            pass
        try:
            self.psql.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.psql.terminate()
        out = self.psql.stdout.read()
        self.psql.wait()
        PROCS.forget(self.psql)
        rows = [[int(x) for x in l.split("WAITS ", 1)[1].split()] for l in out.splitlines() if l.startswith("WAITS ")]
        mean = lambda xs: round(sum(xs) / len(xs), 1) if xs else None
        lock, active, in_txn, idle = (mean([r[i] for r in rows]) for i in range(4))
        in_flight = mean(self.in_flight)
        holding = None if lock is None else lock + active + in_txn
        self.result = {"samples": len(rows), "in_flight": in_flight, "postgres_lock_wait": lock,
                       "postgres_running": active, "postgres_idle_in_transaction": in_txn, "postgres_idle": idle,
                       "server_pool_queue": None if in_flight is None or holding is None else round(max(0.0, in_flight - holding - (idle or 0)), 1)}
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --------------------------------------------------------------------------------------------
# wrk: Lua scripts written to the run directory, results read from a JSON line printed by done().

WRK_COMMON = r"""
-- Counts responses by status in every thread and prints one JSON line at the end.
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  math.randomseed(os.time() * 1000 + tid * 7919)
  for i = 1, 10 do math.random() end
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local totals = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do totals[k] = (totals[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(totals) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.3f,"stdev":%.3f,"min":%d,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.min, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), table.concat(parts, ",")))
end
"""


def wrk_script(kind, ds, extra=None):
    if kind in ("order_low", "order_hot"):
        lo, hi = (HOT_PRODUCTS + 1, ds.products) if kind == "order_low" else (1, HOT_PRODUCTS)
        # A headers table given to wrk.format replaces wrk.headers (-H, the bearer token): copy them.
        return f"""
local headers = {{["Content-Type"] = "application/json"}}
for name, value in pairs(wrk.headers) do headers[name] = value end
function request()
  local u = math.random(1, {ds.users})
  local a = math.random({lo}, {hi})
  local b = math.random({lo}, {hi - 1})
  if b >= a then b = b + 1 end
  return wrk.format("POST", "/orders", headers, string.format(
    '{{"user_id":%d,"items":[{{"product_id":%d,"quantity":1}},{{"product_id":%d,"quantity":1}}]}}', u, a, b))
end
"""
    if kind == "product_get":
        return f"""
function request()
  return wrk.format("GET", "/products/" .. math.random(1, {ds.products}))
end
"""
    if kind == "health":
        return """
function request()
  return wrk.format("GET", "/health/live")
end
"""
    if kind == "orders_first":
        return f"""
function request()
  return wrk.format("GET", "/users/" .. math.random(1, {ds.users}) .. "/orders")
end
"""
    if kind == "orders_deep":
        return f"""
local path = "/users/{ds.deep_user}/orders?cursor={extra}"
function request()
  return wrk.format("GET", path)
end
"""
    raise ValueError(kind)


def placement_script():
    """The pgbench ceiling for POST /orders: the placement statement read from the Swift source
    (`PlaceOrderStatement.sql`, a call of the place_order function), so that the ceiling always
    runs the very statement the service sends, with pgbench's random choices in place of the binds: a random user and two distinct
    random products of [plo, phi], one unit each, no Idempotency-Key (what the wrk script posts)."""
    def read(path):
        with open(os.path.join(ROOT, path)) as f:
            return f.read()
    source = read("Sources/SQLStore/OrderStore+PlaceOrder.swift")
    found = re.search(r'struct PlaceOrderStatement\b.*?static let sql = """\n(.*?)\n[ ]*"""', source, re.S)
    if not found:
        raise RuntimeError("PlaceOrderStatement.sql not found in OrderStore+PlaceOrder.swift")
    # Its comments go: they mention binds, and pgbench needs none of them.
    sql = "\n".join(line for line in textwrap.dedent(found.group(1)).splitlines() if not line.lstrip().startswith("--"))
    rows = read("Sources/SQLStore/Domain/RowDecoding.swift")
    for name in ("Order", "OrderItem"):
        columns = re.search(r'extension %s \{\s*static let columns =\s*"([^"]+)"' % name, rows)
        if not columns:
            raise RuntimeError(f"{name}.columns not found in RowDecoding.swift")
        sql = sql.replace(f"\\({name}.columns)", columns.group(1))
    for bind, value in (("$1::bigint[]", "ARRAY[:a::bigint, :b::bigint]"), ("$2::int[]", "ARRAY[1, 1]::int[]"),
                        ("$3", "NULL::text"), ("$4", ":u::bigint"), ("$5", "NULL::text")):
        sql = sql.replace(bind, value)
    if re.search(r"\$\d", sql) or "\\(" in sql:
        raise RuntimeError("the placement statement has a bind or an interpolation this script does not know:\n" + sql)
    return ("-- Generated by scripts/bench.py from PlaceOrderStatement.sql (OrderStore+PlaceOrder.swift).\n"
            "-- Variables (-D): users, plo, phi. Run with -M prepared, as the service prepares it.\n"
            "\\set u random(1, :users)\n\\set a random(:plo, :phi)\n\\set b random(:plo, :phi - 1)\n"
            "\\set b :b + case when :b >= :a then 1 else 0 end\n" + sql + ";\n")


# --------------------------------------------------------------------------------------------
# The scenarios.

SCENARIOS = [
    # name, title, wrk script kind, pgbench file, writes
    ("order_low", "POST /orders, 2 random of the catalogue", "order_low", "bench-order.sql", True),
    ("order_hot", "POST /orders, 2 of 5 hot products", "order_hot", "bench-order.sql", True),
    ("product_get", "GET /products/{id}", "product_get", "bench-product.sql", False),
    ("orders_first", "GET /users/{id}/orders, first page", "orders_first", "bench-orders-first.sql", False),
    ("orders_deep", "GET /users/{id}/orders, deep cursor page", "orders_deep", "bench-orders-cursor.sql", False),
]


class Runner:
    def __init__(self, args, cluster, server, ds, run_dir):
        self.args = args
        self.cluster = cluster
        self.server = server
        self.ds = ds
        self.run_dir = run_dir
        with open(os.path.join(run_dir, "bench-order.sql"), "w") as f:
            f.write(placement_script())
        self.deep_cursor = None
        self.deep_row = None

    # ---- one wrk run
    def wrk(self, name, kind, conns, seconds, record=True):
        script = os.path.join(self.run_dir, f"{kind}.lua")
        if not os.path.exists(script):
            with open(script, "w") as f:
                f.write(WRK_COMMON + wrk_script(kind, self.ds, self.deep_cursor))
        argv = ["wrk", f"-t{self.args.threads}", f"-c{conns}", f"-d{seconds:g}s", "--latency", "--timeout", "10s",
                "-H", f"Authorization: Bearer {self.server.token}", "-s", script, f"http://127.0.0.1:{self.server.port}"]
        if record and kind.startswith("order_"):
            time.sleep(0.5)  # let the warm-up's last requests finish
            before_orders = self.orders_count()
        else:
            before_orders = None
        self.server.reset_peak_rss()
        self.pgss_reset()
        cpu0, db0, (busy0, total0) = self.server.cpu_seconds(), self.cluster.cpu_seconds(), machine_cpu()
        sampler = WaitSampler(self.cluster, self.server, seconds) if record and getattr(self.args, "waits", False) and kind.startswith("order_") else None
        if sampler:
            sampler.__enter__()
        proc = PROCS.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate()
        PROCS.forget(proc)
        if sampler:
            sampler.__exit__(None, None, None)
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err}")
        cpu1, db1, (busy1, total1) = self.server.cpu_seconds(), self.cluster.cpu_seconds(), machine_cpu()
        if not record:
            return None
        with open(os.path.join(self.run_dir, f"wrk-{name}-{conns}.txt"), "w") as f:
            f.write(" ".join(argv) + "\n" + out + err)
        line = next((l for l in out.splitlines() if l.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result:\n{out}\n{err}")
        data = json.loads(line[len("BENCH_JSON "):])
        seconds_run = data["duration_us"] / 1e6
        lat = data["latency_us"]
        statuses = {k: v for k, v in sorted(data["statuses"].items())}
        ok = sum(v for k, v in statuses.items() if 200 <= int(k) < 300)
        result = {
            "tool": "wrk", "connections": conns, "threads": self.args.threads, "seconds": round(seconds_run, 3),
            "requests": data["requests"], "rps": data["requests"] / seconds_run,
            "latency_ms": {k: lat[k] / 1000 for k in ("mean", "p50", "p90", "p99", "p999", "max")},
            "statuses": statuses, "non_2xx": {k: v for k, v in statuses.items() if not 200 <= int(k) < 300},
            "socket_errors": {k: v for k, v in data["errors"].items() if k != "status" and v},
            "server_peak_rss_mb": round(self.server.peak_rss_mb(), 1),
            "server_cpu_ms_per_request": round(1000 * (cpu1 - cpu0) / max(1, data["requests"]), 4),
            "postgres_cpu_ms_per_request": round(1000 * (db1 - db0) / max(1, data["requests"]), 4),
            "machine_cpu_busy": round((busy1 - busy0) / max(1, total1 - total0), 3),
            "db": self.pgss(),
        }
        result["little"] = little_check(result)
        if sampler:
            result["waits"] = sampler.result
        if before_orders is not None:
            # Requests in flight when wrk stops still complete on the server (at most one per
            # connection more than the 2xx count); fewer orders than 2xx would be a lost order.
            time.sleep(0.5)
            result["orders_created"] = self.orders_count() - before_orders
            result["orders_acknowledged"] = ok
            result["orders_created_ok"] = result["orders_created"] >= ok
        return result

    def script(self, sql_file):
        """A pgbench script: generated into the run folder (the placement), else from scripts/."""
        generated = os.path.join(self.run_dir, sql_file)
        return generated if os.path.exists(generated) else os.path.join(SCRIPTS, sql_file)

    # ---- one pgbench run
    def pgbench(self, name, sql_file, conns, seconds, variables, custom_plans=False):
        prefix = os.path.join(self.run_dir, f"pgbench-{name}-{conns}")
        argv = [os.path.join(self.args.pg_bin, "pgbench"), "-n", "-M", "prepared", "-c", str(conns),
                "-j", str(self.args.threads), "-T", str(max(1, round(seconds))), "-f", self.script(sql_file),
                "-l", f"--log-prefix={prefix}", "-h", self.cluster.dir, "-p", str(self.cluster.port), "-U", "postgres"]
        for k, v in variables.items():
            argv += ["-D", f"{k}={v}"]
        argv.append(self.cluster.db)
        for old in os.listdir(self.run_dir):
            if old.startswith(os.path.basename(prefix) + "."):
                os.remove(os.path.join(self.run_dir, old))
        self.pgss_reset()
        children = self.cluster.children()
        db0, (busy0, total0) = self.cluster.cpu_seconds(), machine_cpu()
        env = dict(os.environ)
        if custom_plans:
            # Planned for the actual values each time, as the server's unnamed statements are: a
            # generic plan for "OFFSET $1" would not be the plan PostgreSQL picks for a given depth.
            env["PGOPTIONS"] = "-c plan_cache_mode=force_custom_plan"
        proc = PROCS.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        out, err = proc.communicate()
        PROCS.forget(proc)
        self.cluster.settle(children)
        db1, (busy1, total1) = self.cluster.cpu_seconds(), machine_cpu()
        with open(prefix + ".txt", "w") as f:
            f.write(" ".join(argv) + "\n" + out + err)
        if proc.returncode not in (0, 2) or "tps = " not in out:
            raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{out}\n{err}")
        latencies = []
        for log_name in os.listdir(self.run_dir):
            if log_name.startswith(os.path.basename(prefix) + "."):
                with open(os.path.join(self.run_dir, log_name)) as f:
                    for row in f:
                        parts = row.split()
                        if len(parts) >= 3 and parts[2].isdigit():
                            latencies.append(int(parts[2]))
                if not self.args.keep:
                    os.remove(os.path.join(self.run_dir, log_name))
        latencies.sort()
        tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", out)
        aborted = len(re.findall(r"aborted", err))
        result = {
            "tool": "pgbench", "connections": conns, "threads": self.args.threads, "seconds": max(1, round(seconds)),
            "requests": len(latencies), "rps": tps,
            "latency_ms": {"mean": statistics.fmean(latencies) / 1000 if latencies else float("nan"),
                           **{name: percentile(latencies, p) / 1000 for name, p in
                              (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("max", 100))}},
            "failed": int(failed.group(1)) if failed else 0, "clients_aborted": aborted,
            "postgres_cpu_ms_per_request": round(1000 * (db1 - db0) / max(1, len(latencies)), 4),
            "machine_cpu_busy": round((busy1 - busy0) / max(1, total1 - total0), 3),
            "db": self.pgss(),
        }
        if aborted:
            result["errors"] = err.strip().splitlines()[-5:]
        result["little"] = little_check(result)
        return result

    # ---- pg_stat_statements: what the database itself spent per statement
    def pgss_reset(self):
        self.cluster.psql("SELECT pg_stat_statements_reset()")

    def pgss(self):
        row = self.cluster.value("""
            SELECT calls, round(mean_exec_time::numeric, 4), round(total_exec_time::numeric, 1)
            FROM pg_stat_statements
            WHERE query NOT ILIKE '%pg_stat_statements%' AND dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
            ORDER BY total_exec_time DESC LIMIT 1""")
        if not row:
            return None
        calls, mean, total = row.split("|")
        return {"top_statement_calls": int(calls), "top_statement_mean_exec_ms": float(mean),
                "top_statement_total_exec_ms": float(total)}

    def orders_count(self):
        return int(self.cluster.value("SELECT count(*) FROM orders"))

    # ---- the deep user's cursor at the deepest page, found by walking the API itself
    def walk(self):
        """Walks every cursor page of the deep user over one keep-alive connection, timing each
        request; returns the timings by depth and keeps the cursor of the deepest page."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        pages = self.ds.deep_pages
        cursor = None
        times = []
        started = time.monotonic()
        seen = 0
        for page in range(1, pages + 1):
            path = f"/users/{self.ds.deep_user}/orders" + (f"?cursor={cursor}" if cursor else "")
            t = time.perf_counter()
            status, body = self.server.get(path, conn)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"walk: page {page} answered {status}: {body[:200]!r}")
            data = json.loads(body)
            seen += len(data["items"])
            if page == pages:
                break
            if page == self.ds.deep_page - 1:
                self.deep_cursor = data["next_cursor"]
            cursor = data["next_cursor"]
            if page % 200 == 0 or page == pages - 1:
                progress("cursor walk", page + 1, pages, started)
        else:
            pass
        if pages == 1:
            progress("cursor walk", 1, 1, started)
        conn.close()
        if seen != self.ds.deep_orders:
            raise RuntimeError(f"walk saw {seen} orders, expected {self.ds.deep_orders}")
        buckets = []
        for depth in depths(self.ds):
            lo = max(1, depth - 9)
            window = sorted(times[lo - 1:depth])
            buckets.append({"pages": f"{lo}-{depth}", "depth_page": depth, "median_ms": statistics.median(window),
                            "max_ms": window[-1], "page_ms": times[depth - 1]})
        return {"pages": pages, "orders_seen": seen, "seconds": round(time.monotonic() - started, 2),
                "median_ms": statistics.median(times), "p99_ms": percentile(sorted(times), 99), "by_depth": buckets}

    def deep_position(self, page):
        """(micros, id) of the last order before `page` of the deep user's list (page ≥ 2)."""
        row = self.cluster.value(f"""
            SELECT (extract(epoch FROM created_at) * 1000000)::bigint, id FROM orders WHERE user_id = {self.ds.deep_user}
            ORDER BY created_at DESC, id DESC OFFSET {(page - 1) * PAGE - 1} LIMIT 1""")
        micros, oid = row.split("|")
        return int(micros), int(oid)


def depths(ds):
    """Pages measured: powers of ten up to the deep page, the deep page, and the last page."""
    out = [d for d in (1, 10, 100, 1000, 10000) if d < ds.deep_page]
    return out + [ds.deep_page, ds.deep_pages]


def little_check(result):
    """Little's law for a closed loop: mean latency ≈ connections ÷ throughput."""
    expected = 1000 * result["connections"] / result["rps"] if result["rps"] else float("nan")
    measured = result["latency_ms"]["mean"]
    ratio = measured / expected if expected else float("nan")
    return {"expected_mean_ms": round(expected, 3), "measured_mean_ms": round(measured, 3), "ratio": round(ratio, 3),
            "ok": 0.85 <= ratio <= 1.15}


# --------------------------------------------------------------------------------------------
# Output.

def fmt_statuses(d):
    return ",".join(f"{k}:{v}" for k, v in d.items()) if d else "-"


def print_table(report, out=sys.stdout):
    w = out.write
    w("\n")
    w(f"SQLStore benchmark  {report['meta']['date']}  commit {report['meta']['commit']}  "
      f"scale {report['meta']['dataset']['orders']:,} orders  {report['meta']['cpus']} CPUs shared by wrk, server, "
      f"PostgreSQL and pgbench  ({report['meta']['threads']} threads each for wrk and pgbench)\n\n")
    head = f"{'scenario':<34} {'conns':>5} {'side':<8} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'ratio':>6} {'non-2xx':<14} {'little (mean vs c/rps)':<24} {'RSS MB':>7} {'CPU ms/req srv+pg':>18}\n"
    w(head)
    w("-" * (len(head) - 1) + "\n")
    for sc in report["scenarios"]:
        for c in sc["by_connections"]:
            for side in ("service", "ceiling"):
                r = c.get(side)
                if not r:
                    continue
                lt = r["little"]
                ratio = f"{c['ratio']:.2f}" if side == "service" and c.get("ratio") is not None else ""
                non2xx = fmt_statuses(r.get("non_2xx", {})) if side == "service" else (
                    f"failed:{r['failed']}" if r.get("failed") or r.get("clients_aborted") else "-")
                if side == "service" and r.get("socket_errors"):
                    non2xx += " sock:" + fmt_statuses(r["socket_errors"])
                rss = f"{r['server_peak_rss_mb']:.0f}" if side == "service" else ""
                pg_cpu = r.get("postgres_cpu_ms_per_request")
                cpu = "" if pg_cpu is None else (
                    f"{r['server_cpu_ms_per_request']:.3f} + {pg_cpu:.3f}" if side == "service" else f"{pg_cpu:.3f}")
                lat = r["latency_ms"]
                w(f"{sc['title'][:34]:<34} {c['connections']:>5} {side:<8} {r['rps']:>9.0f} {lat['p50']:>8.2f} {lat['p90']:>8.2f} "
                  f"{lat['p99']:>8.2f} {ratio:>6} {non2xx:<14} "
                  f"{lt['measured_mean_ms']:.2f} vs {lt['expected_mean_ms']:.2f} {'ok' if lt['ok'] else 'OFF':<3}    {rss:>7} {cpu:>18}\n")
            if c.get("invariant_after_service"):
                inv_s, inv_c = c["invariant_after_service"], c.get("invariant_after_ceiling") or {}
                w(f"{'':<34} {'':>5} stock conservation after service: {'ok' if inv_s['ok'] else 'VIOLATED'}, "
                  f"after pgbench: {'ok' if inv_c.get('ok') else 'VIOLATED'}; orders created {c['service']['orders_created']:,} "
                  f"for {c['service']['orders_acknowledged']:,} acknowledged: {'ok' if c['service']['orders_created_ok'] else 'LOST'}"
                  + (f"; HOT updates of products {c['products_hot_share']:.1%}" if c.get("products_hot_share") is not None else "")
                  + "\n")
    deep = report.get("depth")
    if deep:
        w(f"\nCursor vs offset by depth (user {report['meta']['dataset']['deep_user']}, {deep['pages']:,} pages of {PAGE}; "
          f"pgbench, {deep['connections']} connections, {deep['seconds']:g}s each; HTTP walk: 1 connection, median of 10 pages)\n")
        w(f"{'page':>7} {'cursor tps':>11} {'cursor p50 ms':>14} {'offset tps':>11} {'offset p50 ms':>14} {'HTTP walk ms':>13}\n")
        walk = {b["depth_page"]: b for b in report.get("walk", {}).get("by_depth", [])}
        for row in deep["rows"]:
            wk = walk.get(row["page"])
            mark = " (deep page)" if row["page"] == deep["deep_page"] else " (last page)" if row["page"] == deep["pages"] else ""
            w(f"{row['page']:>7,} {row['cursor']['rps']:>11.0f} {row['cursor']['latency_ms']['p50']:>14.3f} "
              f"{row['offset']['rps']:>11.0f} {row['offset']['latency_ms']['p50']:>14.3f} {wk['median_ms'] if wk else float('nan'):>13.3f}{mark}\n")
    hf = report.get("http_floor")
    if hf:
        w(f"\nHTTP floor (GET /health/live, no database, {hf['connections']} connections): {hf['rps']:,} req/s, "
          f"server CPU {hf['server_cpu_ms_per_request']:.3f} ms per request\n")
    s = report["summary"]
    if s["server_peak_rss_mb"] is not None:  # None: an --auth-only run, which measured nothing else
        w(f"\nServer peak RSS over the run: {s['server_peak_rss_mb']:.0f} MB (VmHWM)\n")
    w("Targets (issue 5):\n")
    for t in s["targets"]:
        w(f"  [{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}\n")
    w(f"Targets (issue 16), PostgreSQL {'durable' if report['meta'].get('durable') else 'with fsync off'}:\n")
    for t in s.get("issue16", []):
        w(f"  [{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}\n")
    w("Targets (issue 15):\n")
    for t in s.get("issue15", []):
        w(f"  [{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}\n")
    w("\n")


def plot(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no matplotlib: plot skipped")
        return False
    scenarios = report["scenarios"]
    has_depth = bool(report.get("depth"))
    cols = len(scenarios) + (1 if has_depth else 0)
    fig, axes = plt.subplots(2, cols, figsize=(3.4 * cols, 6.6), squeeze=False)
    for i, sc in enumerate(scenarios):
        xs = [c["connections"] for c in sc["by_connections"]]
        for side, style in (("service", "o-"), ("ceiling", "s--")):
            rps = [c[side]["rps"] if c.get(side) else float("nan") for c in sc["by_connections"]]
            p99 = [c[side]["latency_ms"]["p99"] if c.get(side) else float("nan") for c in sc["by_connections"]]
            label = "sqlstore (wrk)" if side == "service" else "ceiling (pgbench)"
            axes[0][i].plot(xs, rps, style, label=label)
            axes[1][i].plot(xs, p99, style, label=label)
        axes[0][i].set_title(sc["title"], fontsize=9)
        axes[0][i].set_ylim(bottom=0)
        axes[1][i].set_ylim(bottom=0)
        axes[1][i].set_xlabel("connections")
        for ax in (axes[0][i], axes[1][i]):
            ax.set_xticks(xs)
            ax.grid(alpha=0.3)
        for c in sc["by_connections"]:
            if c.get("ratio") is not None:
                axes[0][i].annotate(f"{c['ratio']:.2f}×", (c["connections"], c["service"]["rps"]),
                                    textcoords="offset points", xytext=(0, -12), ha="center", fontsize=8)
    axes[0][0].set_ylabel("requests/s")
    axes[1][0].set_ylabel("p99 latency (ms)")
    axes[0][0].legend(fontsize=8)
    if has_depth:
        d = report["depth"]
        rows = [r for r in d["rows"] if r["page"] != d["pages"]]   # the last page is drawn apart
        last = [r for r in d["rows"] if r["page"] == d["pages"]]
        pages = [r["page"] for r in rows]
        ax = axes[0][-1]
        ax.plot(pages, [r["cursor"]["rps"] for r in rows], "o-", label="cursor (keyset)")
        ax.plot(pages, [r["offset"]["rps"] for r in rows], "s--", label="OFFSET")
        for r in last:
            ax.plot([r["page"]], [r["cursor"]["rps"]], "rx", markersize=8, label=f"cursor, last page ({r['page']:,})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"pgbench by page depth, {d['connections']} conns", fontsize=9)
        ax.set_ylabel("queries/s")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax = axes[1][-1]
        ax.plot(pages, [r["cursor"]["latency_ms"]["p50"] for r in rows], "o-", label="cursor, pgbench p50")
        ax.plot(pages, [r["offset"]["latency_ms"]["p50"] for r in rows], "s--", label="OFFSET, pgbench p50")
        for r in last:
            ax.plot([r["page"]], [r["cursor"]["latency_ms"]["p50"]], "rx", markersize=8, label="cursor, last page")
        walk = report.get("walk", {}).get("by_depth", [])
        if walk:
            ax.plot([b["depth_page"] for b in walk], [b["median_ms"] for b in walk], "^:", label="cursor, HTTP walk (1 conn)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("page")
        ax.set_ylabel("latency (ms)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    m = report["meta"]
    fig.suptitle(f"SQLStore vs its PostgreSQL ceiling — {m['dataset']['orders']:,} orders, {m['cpus']} shared CPUs, "
                 f"{m['duration_s']:g}s runs, commit {m['commit']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def auth_cost(args, cluster, ds, run_dir, token, conns):
    """What authentication costs the server per request (issue 15's target: at most 5 %): the
    same binary and database, SQLSTORE_AUTH on and off in turns, GET /products/{id} (the cheapest
    database route, where auth's share is largest). bench_compare's method: alternating rounds,
    each round's on/off pair run back to back, and the median of the pairs' ratios, which
    cancels the drift of a shared machine between rounds."""
    # bench_compare loads this file as its own module; its `measure` is the one it compares with.
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_compare", os.path.join(SCRIPTS, "bench_compare.py"))
    bench_compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_compare)
    seconds = 3.0 if args.quick else 5.0
    rounds = []
    for number in range(1, args.auth_rounds + 1):
        pair = {}
        # Which side goes first alternates, so that neither always runs on a warmer machine.
        for side in (("on", "off") if number % 2 else ("off", "on")):
            server = Server(args.bin, cluster.url, run_dir, args.pool)
            server.token = token  # sent either way: with auth off the header is not even read
            server.env = {"SQLSTORE_AUTH": side}
            server.start()
            try:
                pair[side] = bench_compare.measure(Runner(args, cluster, server, ds, run_dir), "product_get", conns, seconds,
                                                   min(2.0, seconds), False)
            finally:
                server.stop()
        ratio = pair["on"]["server"] / pair["off"]["server"]
        rounds.append({"on": pair["on"], "off": pair["off"], "ratio": round(ratio, 4)})
        log(f"  auth round {number}: server CPU {pair['on']['server']:.4f} ms/req with auth, "
            f"{pair['off']['server']:.4f} without ({ratio - 1:+.1%}); {pair['on']['rps']:.0f} / {pair['off']['rps']:.0f} req/s; "
            f"non-2xx {pair['on']['non_2xx']} / {pair['off']['non_2xx']}")
    return {"scenario": "product_get", "connections": conns, "seconds": seconds, "rounds": rounds,
            "server_cpu_ms_per_request": {side: round(statistics.median(r[side]["server"] for r in rounds), 4)
                                          for side in ("on", "off")},
            "median_ratio": round(statistics.median(r["ratio"] for r in rounds), 4)}


def summarize(report):
    rss = max([c["service"]["server_peak_rss_mb"] for sc in report["scenarios"] for c in sc["by_connections"] if c.get("service")]
              + [report.get("server_peak_rss_after_walk_mb", 0)])
    targets = []
    by = {sc["name"]: sc for sc in report["scenarios"]}

    def ratios(name):
        return {c["connections"]: c.get("ratio") for c in by[name]["by_connections"]} if name in by else {}

    for name in ("order_low", "order_hot"):
        if name in by:
            r = ratios(name)
            targets.append({"target": f"{name}: ≥ 0.7 × ceiling at every concurrency",
                            "value": ", ".join(f"{k}: {v:.2f}" for k, v in r.items()),
                            "met": all(v is not None and v >= 0.7 for v in r.values())})
    if "order_low" in by:
        non = {k: v for c in by["order_low"]["by_connections"] for k, v in c["service"]["non_2xx"].items()}
        sock = sum(sum(c["service"]["socket_errors"].values()) for c in by["order_low"]["by_connections"])
        targets.append({"target": "order_low: zero non-2xx", "value": fmt_statuses(non) + (f" socket errors {sock}" if sock else ""),
                        "met": not non and not sock})
    if "order_hot" in by:
        non = {k: v for c in by["order_hot"]["by_connections"] for k, v in c["service"]["non_2xx"].items()}
        targets.append({"target": "order_hot: only sold-out 409s", "value": fmt_statuses(non) or "none",
                        "met": set(non) <= {"409"}})
    for name in ("order_low", "order_hot"):
        if name in by:
            at = [c for c in by[name]["by_connections"] if c["connections"] == max(x["connections"] for x in by[name]["by_connections"])][0]
            targets.append({"target": f"{name}: p99 < 50 ms at {at['connections']} connections",
                            "value": f"{at['service']['latency_ms']['p99']:.1f} ms", "met": at["service"]["latency_ms"]["p99"] < 50})
    for name in ("product_get", "orders_first", "orders_deep"):
        if name in by:
            r = ratios(name)
            targets.append({"target": f"{name}: ≥ 0.5 × ceiling", "value": ", ".join(f"{k}: {v:.2f}" for k, v in r.items()),
                            "met": all(v is not None and v >= 0.5 for v in r.values())})
    inv = [c.get(k) for sc in report["scenarios"] for c in sc["by_connections"]
           for k in ("invariant_after_service", "invariant_after_ceiling") if c.get(k)]
    if inv:
        targets.append({"target": "stock conservation after every write load", "value": f"{sum(i['ok'] for i in inv)}/{len(inv)} checks ok",
                        "met": all(i["ok"] for i in inv)})
    d = report.get("depth")
    if d and len(d["rows"]) >= 2:
        first = d["rows"][0]
        deep = next(r for r in d["rows"] if r["page"] == d["deep_page"])
        end = d["rows"][-1]
        flat = deep["cursor"]["rps"] and first["cursor"]["rps"] / deep["cursor"]["rps"]
        off = first["offset"]["rps"] / deep["offset"]["rps"]
        deep_enough = deep["page"] >= 10000
        targets.append({"target": "cursor page cost flat from page 1 to page 10,000 (pgbench throughput, page 1 / deep page)",
                        "value": f"cursor ×{flat:.2f} at page {deep['page']:,}; OFFSET ×{off:.1f}"
                                 + ("" if deep_enough else " (run --scale 1000000 to reach page 10,000)"),
                        "met": flat < 1.5 and deep_enough})
        endf = first["cursor"]["rps"] / end["cursor"]["rps"]
        targets.append({"target": "cursor: the last page costs what page 1 does",
                        "value": f"×{endf:.1f} slower at the last page ({end['page']:,})", "met": endf < 1.5})
    targets.append({"target": "server RSS under load < 150 MB", "value": f"{rss:.0f} MB", "met": rss < 150})
    return {"server_peak_rss_mb": rss, "targets": targets, "issue16": issue16_targets(report, by, ratios, rss),
            "issue15": issue15_targets(report)}


def issue15_targets(report):
    """The measurable target of issue 15 (authentication): what auth costs the server per request."""
    a = report.get("auth_cost")
    if not a:
        return [{"target": "auth: server CPU per request ≤ 1.05 × with SQLSTORE_AUTH=off",
                 "value": "not measured (--auth-rounds 0)", "met": False}]
    return [{"target": f"auth: server CPU per request ≤ 1.05 × with SQLSTORE_AUTH=off ({a['scenario']} @ {a['connections']}, "
                       f"median of {len(a['rounds'])} paired rounds)",
             "value": f"{a['median_ratio'] - 1:+.1%} ({a['server_cpu_ms_per_request']['on']:.4f} vs "
                      f"{a['server_cpu_ms_per_request']['off']:.4f} ms; rounds "
                      + ", ".join(f"{r['ratio'] - 1:+.1%}" for r in a["rounds"]) + ")",
             "met": a["median_ratio"] <= 1.05}]


def issue16_targets(report, by, ratios, rss):
    """The targets of issue 16 (performance), each with its value in this run."""
    targets = []
    floor = (report.get("http_floor") or {}).get("server_cpu_ms_per_request")
    for name, most in (("product_get", 1.6), ("orders_first", 3.0)):
        if name in by and floor:
            multiples = {c["connections"]: c["service"]["server_cpu_ms_per_request"] / floor for c in by[name]["by_connections"]}
            targets.append({"target": f"{name}: server CPU per request ≤ {most:g} × the HTTP floor ({floor:.3f} ms)",
                            "value": ", ".join(f"{k}: ×{v:.2f}" for k, v in multiples.items()),
                            "met": all(v <= most for v in multiples.values())})
    if "order_low" in by:
        r = ratios("order_low")
        wanted = {16: 0.5, 64: 0.9}
        targets.append({"target": "order_low: ≥ 0.5 × ceiling at 16 connections, ≥ 0.9 × at 64",
                        "value": ", ".join(f"{k}: {v:.2f}" for k, v in r.items()),
                        "met": all(v is not None and v >= wanted.get(k, 0.5) for k, v in r.items())})
    hot = [(sc["name"], c["connections"], c.get("products_hot_share")) for sc in report["scenarios"]
           for c in sc["by_connections"] if c.get("products_hot_share") is not None]
    if hot:
        targets.append({"target": "order placement's stock updates are HOT (finding 9; share of products updates, both sides)",
                        "value": ", ".join(f"{n} @ {k}: {v:.1%}" for n, k, v in hot),
                        "met": all(v >= 0.9 for _, _, v in hot)})
    if "order_hot" in by:
        at = [c for c in by["order_hot"]["by_connections"] if c["connections"] == 64]
        if at:
            p99 = at[0]["service"]["latency_ms"]["p99"]
            targets.append({"target": "order_hot: p99 < 150 ms at 64 connections",
                            "value": f"{p99:.1f} ms ({at[0]['service']['rps']:.0f} req/s)", "met": p99 < 150})
    targets.append({"target": "durable run (fsync, synchronous_commit, full_page_writes on)",
                    "value": "this run" if report["meta"].get("durable") else "not this run: scripts/bench --durable",
                    "met": bool(report["meta"].get("durable"))})
    scale = report["meta"]["dataset"]["orders"]
    limit = 120 if scale >= 1_000_000 else 80
    targets.append({"target": f"server peak RSS over the whole benchmark < {limit} MB" + (" (1 M orders)" if limit == 120 else ""),
                    "value": f"{rss:.0f} MB", "met": rss < limit})
    return targets


def git_commit():
    try:
        sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources", "Package.swift"],
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


# --------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the sqlstore binary")
    parser.add_argument("--pg-bin", required=True, help="PostgreSQL's bin directory (initdb, pg_ctl, psql, pgbench)")
    parser.add_argument("--scale", type=int, default=None,
                        help="orders of the regular users (default 50000: 1,000 users × 50; at most 1,000,000)")
    parser.add_argument("--duration", type=duration_seconds, default=None, help="each measured run (default 20s; --quick 5s)")
    parser.add_argument("--warmup", type=duration_seconds, default=None, help="unrecorded run before each (default 3s; --quick 1s)")
    parser.add_argument("--connections", default=None, help="comma-separated (default 16,64; --quick 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads = pgbench threads (default 2)")
    parser.add_argument("--pool", type=int, default=None, help="the server's --max-open-conns (default: its own default, 25)")
    parser.add_argument("--scenarios", default=None, help="comma-separated subset of: " + ",".join(s[0] for s in SCENARIOS))
    parser.add_argument("--no-depth", action="store_true", help="skip the cursor-vs-offset depth sweep and the walk")
    parser.add_argument("--quick", action="store_true", help="a ~2 minute smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    parser.add_argument("--no-build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks"), help="where latest.json and latest.png go")
    parser.add_argument("--shared-buffers", default="512MB")
    parser.add_argument("--waits", action="store_true",
                        help="sample where write scenarios' operations wait (PostgreSQL lock, running, the server's pool queue)")
    parser.add_argument("--durable", action="store_true",
                        help="fsync, synchronous_commit and full_page_writes on, as users run PostgreSQL")
    parser.add_argument("--auth-rounds", type=int, default=5,
                        help="rounds of the auth-cost pair (product_get with SQLSTORE_AUTH on, then off; default 5, 0 skips)")
    parser.add_argument("--auth-only", action="store_true",
                        help="measure only what auth costs (the --auth-rounds pair), not the scenarios; "
                             "writes auth-cost.json, not latest.json")
    args = parser.parse_args()
    if args.scale is None:
        args.scale = 10_000 if args.quick else 50_000
    if not 1_000 <= args.scale <= 1_000_000:
        parser.error("--scale must be 1,000 to 1,000,000 orders")
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    conns = [int(c) for c in (args.connections or ("16" if args.quick else "16,64")).split(",")]
    chosen = [s for s in SCENARIOS if not args.scenarios or s[0] in args.scenarios.split(",")]
    if args.auth_only:
        chosen, args.no_depth, args.auth_rounds = [], True, max(1, args.auth_rounds)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    run_dir = tempfile.mkdtemp(prefix="sqlstore-bench.")
    PROCS.cleanups.append(lambda: (log(f"kept {run_dir}") if args.keep else shutil.rmtree(run_dir, ignore_errors=True)))
    started = time.monotonic()
    try:
        ds = Dataset(args.scale)
        cluster = Cluster(args.pg_bin, run_dir, args.shared_buffers, durable=args.durable)
        log(f"cluster: {run_dir} (PostgreSQL, Unix socket only)")
        cluster.start()
        server = Server(args.bin, cluster.url, run_dir, args.pool)
        server.migrate()
        log(f"seeding: {ds.users:,} users, {ds.products:,} products ({HOT_PRODUCTS} hot), {ds.orders:,} orders "
            f"+ {ds.deep_orders:,} for user {ds.deep_user} ({ds.deep_pages:,} pages), 2 items each")
        seed_seconds = seed(cluster, ds)
        server.start()
        log(f"serving on 127.0.0.1:{server.port} (pid {server.proc.pid}); {len(chosen)} scenarios × {conns} connections, "
            f"{args.duration:g}s each, wrk and pgbench with {args.threads} threads")
        runner = Runner(args, cluster, server, ds, run_dir)
        report = {"meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": git_commit(),
            "cpus": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release(),
            "postgres": cluster.version(), "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip(),
            "threads": args.threads, "duration_s": args.duration, "warmup_s": args.warmup, "connections": conns,
            "server_pool": args.pool or "default (25)", "quick": args.quick, "dataset": ds.describe(),
            "seed_seconds": round(seed_seconds, 1),
            "durable": args.durable,
            "postgres_settings": " ".join(o[3:] for o in cluster.durability_options()) + " shared_buffers=" + args.shared_buffers,
            "pgbench_mode": "-M prepared"}, "scenarios": []}

        if not args.no_depth or any(s[0] == "orders_deep" for s in chosen):
            report["walk"] = runner.walk()
            report["server_peak_rss_after_walk_mb"] = round(server.peak_rss_mb(), 1)
            log(f"  walked {report['walk']['pages']:,} pages in {report['walk']['seconds']}s, median {report['walk']['median_ms']:.2f} ms")

        variables = {"users": ds.users, "products": ds.products, "plo": HOT_PRODUCTS + 1, "phi": ds.products}
        if runner.deep_cursor:
            micros, cid = runner.deep_position(ds.deep_page)
            deep_vars = {"deep": ds.deep_user, "micros": micros, "cid": cid}
        for name, title, kind, sql, writes in chosen:
            sc = {"name": name, "title": title, "pgbench_script": (f"{sql}, generated from PlaceOrderStatement.sql" if sql == "bench-order.sql" else f"scripts/{sql}"), "by_connections": []}
            pg_vars = dict(variables)
            if name == "order_hot":
                pg_vars.update(plo=1, phi=HOT_PRODUCTS)
            if name == "orders_deep":
                pg_vars = deep_vars
                sc["page"] = ds.deep_page
            for c in conns:
                log(f"{name} @ {c}: wrk ...")
                entry = {"connections": c}
                if writes:
                    upd0, hot0 = cluster.product_updates()
                if args.warmup:
                    runner.wrk(name, kind, c, args.warmup, record=False)
                entry["service"] = runner.wrk(name, kind, c, args.duration)
                if writes:
                    entry["invariant_after_service"] = stock_invariant(cluster)
                log(f"{name} @ {c}: pgbench ...")
                if args.warmup:
                    runner.pgbench(name + "-warmup", sql, c, args.warmup, pg_vars)
                entry["ceiling"] = runner.pgbench(name, sql, c, args.duration, pg_vars)
                if writes:
                    entry["invariant_after_ceiling"] = stock_invariant(cluster)
                    # Both sides' updates (the service's idle backends have reported theirs
                    # during the pgbench run; pgbench's, as they exited).
                    upd1, hot1 = cluster.product_updates()
                    entry["products_hot_share"] = round((hot1 - hot0) / (upd1 - upd0), 4) if upd1 > upd0 else None
                entry["ratio"] = entry["service"]["rps"] / entry["ceiling"]["rps"] if entry["ceiling"]["rps"] else None
                s, g = entry["service"], entry["ceiling"]
                log(f"  service {s['rps']:.0f} req/s p99 {s['latency_ms']['p99']:.2f} ms; ceiling {g['rps']:.0f} tps "
                    f"p99 {g['latency_ms']['p99']:.2f} ms; ratio {entry['ratio']:.2f}; non-2xx {fmt_statuses(s['non_2xx'])}; "
                    f"little {s['little']['ratio']:.2f}/{g['little']['ratio']:.2f}")
                if "waits" in s:
                    w = s["waits"]
                    log(f"  waits (mean of {w['samples']} samples): {w['in_flight']} operations in flight: "
                        f"at least {w['server_pool_queue']} queued in the server (in flight less every open connection), {w['postgres_lock_wait']} waiting "
                        f"for a lock in PostgreSQL, {w['postgres_running']} running there, {w['postgres_idle_in_transaction']} "
                        f"idle in a transaction; {w['postgres_idle']} connections idle")
                sc["by_connections"].append(entry)
            report["scenarios"].append(sc)

        if not args.no_depth and runner.deep_cursor:
            dc = conns[0]
            secs = max(1.0, min(args.duration, 5.0 if not args.quick else 2.0))
            rows = []
            for page in depths(ds):
                log(f"depth: page {page:,} (cursor and OFFSET, pgbench) ...")
                # Page 1 through the keyset statement too, with a cursor past the newest order.
                micros, cid = runner.deep_position(page) if page > 1 else (4102444800000000, 2**63 - 1)
                cur = runner.pgbench(f"depth-cursor-{page}", "bench-orders-cursor.sql", dc, secs,
                                     {"deep": ds.deep_user, "micros": micros, "cid": cid}, custom_plans=True)
                off = runner.pgbench(f"depth-offset-{page}", "bench-orders-offset.sql", dc, secs,
                                     {"deep": ds.deep_user, "off": (page - 1) * PAGE}, custom_plans=True)
                rows.append({"page": page, "rows_skipped_by_offset": (page - 1) * PAGE, "cursor": cur, "offset": off})
            report["depth"] = {"connections": dc, "seconds": secs, "pages": ds.deep_pages, "deep_page": ds.deep_page,
                               "rows": rows}

        # The HTTP layer alone: the server's CPU per request with no database behind it, to set
        # against the ceiling's whole transaction (docs/benchmarks.md).
        log(f"http floor @ {conns[0]}: wrk GET /health/live ...")
        floor = runner.wrk("http_floor", "health", conns[0], max(2, round(args.duration / 2)))  # wrk takes whole seconds
        report["http_floor"] = {"connections": conns[0], "rps": round(floor["rps"]),
                                "server_cpu_ms_per_request": floor["server_cpu_ms_per_request"]}
        server.stop()
        if args.auth_rounds > 0:
            log(f"auth cost @ {conns[0]}: product_get with SQLSTORE_AUTH on and off, {args.auth_rounds} rounds ...")
            report["auth_cost"] = auth_cost(args, cluster, ds, run_dir, server.token, conns[0])
        report["summary"] = summarize(report) if not args.auth_only else {
            "server_peak_rss_mb": None, "targets": [], "issue16": [], "issue15": issue15_targets(report)}
        report["meta"]["total_seconds"] = round(time.monotonic() - started, 1)
        os.makedirs(args.out, exist_ok=True)
        # An --auth-only run leaves the whole benchmark's latest.json and plot alone.
        written = os.path.join(args.out, "auth-cost.json" if args.auth_only else "latest.json")
        with open(written, "w") as f:
            json.dump(report, f, indent=1)
        plotted = not args.auth_only and plot(report, os.path.join(args.out, "latest.png"))
        print_table(report)
        log(f"wrote {written}" + (f" and latest.png" if plotted else "")
            + f" in {time.monotonic() - started:.0f}s")
        return 0
    except Interrupted as why:
        log(f"\ninterrupted ({why}): cleaning up")
        return 130
    except Exception as error:
        log(f"\nbenchmark failed: {error}")
        if not args.keep:
            log("(rerun with --keep to keep the cluster's and the server's logs)")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        PROCS.stop_all()


if __name__ == "__main__":
    sys.exit(main())
