#!/usr/bin/env python3
"""Compares the server's CPU per request of two sqlstore binaries, side by side: one throwaway
cluster and dataset, the same wrk scenario, the binaries taking turns for several rounds.

On a shared machine a single run of each can differ by 20 % from noise alone; alternating rounds
and comparing medians (and each round's pair) is what makes a change of a few percent visible.
Run it through scripts/bench-compare, which builds the revisions; see docs/benchmarks.md.
"""

import argparse
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import types

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench", os.path.join(SCRIPTS, "bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
log = bench.log


def product_updates(cluster, db):
    """Updates of products so far, and how many of them were HOT (they touched no index). An idle
    backend reports its counters up to 10 s late, one that exits reports them at once: read this
    only when no server runs (after cluster.settle)."""
    upd, hot = cluster.psql("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'products'",
                            db=db).split("|")
    return int(upd), int(hot)


def measure(runner, scenario, conns, seconds, warmup, floor):
    kind = dict((s[0], s[2]) for s in bench.SCENARIOS)[scenario]
    if warmup:
        runner.wrk(scenario, kind, conns, warmup, record=False)
    result = runner.wrk(scenario, kind, conns, seconds)
    # The HTTP floor (GET /health/live, no database) right after, on the same server: what
    # HTTP alone costs it, the least any endpoint can.
    floor_ms = runner.wrk("http_floor", "health", conns, seconds)["server_cpu_ms_per_request"] if floor else None
    return {"rps": result["rps"], "server": result["server_cpu_ms_per_request"],
            "postgres": result["postgres_cpu_ms_per_request"], "p99": result["latency_ms"]["p99"],
            "non_2xx": sum(result["non_2xx"].values()), "floor": floor_ms}


class PgBouncer:
    """Debian's PgBouncer in transaction pooling mode, default settings otherwise, in front of the
    cluster: what a server labelled with --pgbouncer reaches PostgreSQL through."""

    def __init__(self, cluster, run_dir, pool_size):
        self.dir = os.path.join(run_dir, "pgbouncer")
        os.makedirs(self.dir, exist_ok=True)
        self.port = bench.free_port()
        with open(os.path.join(self.dir, "pgbouncer.ini"), "w") as f:
            f.write(f"[databases]\n* = host={cluster.dir} port={cluster.port}\n\n[pgbouncer]\n"
                    f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
                    f"auth_type = trust\nauth_file = {self.dir}/users.txt\npool_mode = transaction\n"
                    f"default_pool_size = {pool_size}\nmax_client_conn = 1000\n")
        with open(os.path.join(self.dir, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        os.chmod(self.dir, 0o755)
        argv = ["/usr/sbin/pgbouncer"] + (["-u", "postgres"] if os.geteuid() == 0 else []) + [
            os.path.join(self.dir, "pgbouncer.ini")]
        self.log = open(os.path.join(self.dir, "pgbouncer.log"), "ab")
        self.proc = bench.PROCS.spawn(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{cluster.db}?sslmode=disable"

    def cpu_seconds(self):
        fields = bench.proc_stat(self.proc.pid)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-bin", required=True)
    parser.add_argument("--bin", action="append", required=True, metavar="LABEL=PATH",
                        help="a binary to compare, named by its label (twice or more)")
    parser.add_argument("--scenario", default="order_low", help="one of: " + ",".join(s[0] for s in bench.SCENARIOS[:4]))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=bench.duration_seconds, default=5.0)
    parser.add_argument("--warmup", type=bench.duration_seconds, default=2.0)
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--env", action="append", default=[], metavar="LABEL:NAME=VALUE",
                        help="an environment variable for one binary's server, e.g. b:DATABASE_MAX_IDLE_CONNS=25")
    parser.add_argument("--pgbouncer", action="append", default=[], metavar="LABEL",
                        help="this binary's server reaches PostgreSQL through PgBouncer (pool_mode = transaction) "
                             "with DATABASE_POOLER=pgbouncer; the same binary may be given twice under two labels")
    parser.add_argument("--own-database", action="store_true",
                        help="each binary runs on its own copy of the seeded database, migrated by that binary: "
                             "compares migrations too (seeded by the first binary's schema, so list the older first)")
    parser.add_argument("--sql", action="append", default=[], metavar="LABEL:STATEMENT",
                        help="with --own-database: a statement run on that label's database after its migrations, "
                             "e.g. to put an old index back and measure what it costs")
    parser.add_argument("--durable", action="store_true",
                        help="fsync, synchronous_commit and full_page_writes on, as scripts/bench --durable")
    parser.add_argument("--floor", action="store_true",
                        help="after each measured run, measure GET /health/live on the same server too, and "
                             "print the scenario's server CPU per request as a multiple of that HTTP floor")
    args = parser.parse_args()
    if args.sql and not args.own_database:
        parser.error("--sql needs --own-database")
    binaries = [tuple(b.split("=", 1)) for b in args.bin]
    if len(binaries) < 2 or any(len(b) != 2 for b in binaries):
        parser.error("give --bin LABEL=PATH at least twice")
    if args.scenario not in ("order_low", "order_hot", "product_get", "orders_first"):
        parser.error("--scenario must be order_low, order_hot, product_get or orders_first")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, bench.on_signal)
    run_dir = tempfile.mkdtemp(prefix="sqlstore-compare.")
    bench.PROCS.cleanups.append(lambda: shutil.rmtree(run_dir, ignore_errors=True))
    try:
        ds = bench.Dataset(args.scale)
        cluster = bench.Cluster(args.pg_bin, run_dir, "512MB", durable=args.durable)
        cluster.start()
        first = bench.Server(binaries[0][1], cluster.url, run_dir, None)
        first.migrate()
        log(f"seeding {ds.orders:,} orders ...")
        bench.seed(cluster, ds)
        urls = {label: cluster.url for label, _ in binaries}
        databases = {label: cluster.db for label, _ in binaries}
        if args.own_database:
            for number, (label, path) in enumerate(binaries, start=1):
                databases[label] = f"{cluster.db}_{number}"
                cluster.psql(f"CREATE DATABASE {databases[label]} TEMPLATE {cluster.db}", db="postgres")
                urls[label] = cluster.url.replace(f"/{cluster.db}?", f"/{databases[label]}?")
                result = subprocess.run([path, "migrate", "up", "--database-url", urls[label]],
                                        capture_output=True, text=True)
                if result.returncode != 0:
                    raise RuntimeError(f"{label}: sqlstore migrate up failed:\n{result.stdout}{result.stderr}")
                for statement in (e.split(":", 1)[1] for e in args.sql if e.split(":", 1)[0] == label):
                    cluster.psql(statement, db=databases[label])
                    log(f"{label}: {statement}")
                cluster.psql("VACUUM ANALYZE", db=databases[label])
                log(f"{label} runs on database {databases[label]}, migrated by its own binary")
        settings = types.SimpleNamespace(threads=2)
        bouncer = PgBouncer(cluster, run_dir, 25) if args.pgbouncer else None
        results = {label: [] for label, _ in binaries}
        for round_number in range(1, args.rounds + 1):
            for label, path in binaries:
                pooled = label in args.pgbouncer
                server = bench.Server(path, bouncer.url if pooled else urls[label], run_dir, None)
                # The admin token made once, at migration: every server of the run sends it.
                server.token = first.token
                extra = dict(e.split(":", 1)[1].split("=", 1) for e in args.env if e.split(":", 1)[0] == label)
                if pooled:
                    extra["DATABASE_POOLER"] = "pgbouncer"
                os.environ.update(extra)
                children = cluster.children()
                upd0, hot0 = product_updates(cluster, databases[label])
                try:
                    server.start()
                finally:
                    for name in extra:
                        os.environ.pop(name, None)
                try:
                    bouncer_before = bouncer.cpu_seconds() if bouncer else 0.0
                    m = measure(bench.Runner(settings, cluster, server, ds, run_dir), args.scenario,
                                args.connections, args.duration, args.warmup, args.floor)
                    requests = m["rps"] * args.duration
                    m["pgbouncer"] = (bouncer.cpu_seconds() - bouncer_before) * 1000 / requests if pooled and requests else 0.0
                    # Each turn starts its own server, so its VmHWM is this turn's peak alone.
                    m["rss"] = server.peak_rss_mb()
                finally:
                    server.stop()
                # The HOT share of this turn's updates of products (warm-up included): the
                # server's backends report their counters as they exit.
                cluster.settle(children)
                upd1, hot1 = product_updates(cluster, databases[label])
                m["hot"] = (hot1 - hot0) / (upd1 - upd0) if upd1 > upd0 else None
                results[label].append(m)
                log(f"round {round_number} {label:>10}: {m['rps']:8.0f} req/s  server {m['server']:.3f} ms/req  "
                    f"PostgreSQL {m['postgres']:.3f} ms/req  PgBouncer {m['pgbouncer']:.3f} ms/req  "
                    f"p99 {m['p99']:.1f} ms  non-2xx {m['non_2xx']}  peak RSS {m['rss']:.0f} MB"
                    + (f"  HOT updates {m['hot']:.1%}" if m["hot"] is not None else "")
                    + (f"  floor {m['floor']:.3f} ms/req (x{m['server'] / m['floor']:.2f})" if m["floor"] else ""))

        base_label = binaries[0][0]
        base = statistics.median(m["server"] for m in results[base_label])
        print(f"\n{args.scenario} at {args.connections} connections, {args.rounds} rounds of {args.duration:g} s, "
              f"medians (server CPU relative to {base_label}):")
        for label, _ in binaries:
            runs = results[label]
            server = statistics.median(m["server"] for m in runs)
            print(f"  {label:>10}: server {server:.3f} ms/req ({server / base - 1:+.1%})  "
                  f"PostgreSQL {statistics.median(m['postgres'] for m in runs):.3f} ms/req  "
                  f"PgBouncer {statistics.median(m['pgbouncer'] for m in runs):.3f} ms/req  "
                  f"{statistics.median(m['rps'] for m in runs):.0f} req/s  "
                  f"p99 {statistics.median(m['p99'] for m in runs):.1f} ms  "
                  f"non-2xx {sum(m['non_2xx'] for m in runs)}  "
                  f"peak RSS {statistics.median(m['rss'] for m in runs):.0f} MB"
                  + (f"  HOT updates {statistics.median(m['hot'] for m in runs):.1%}"
                     if all(m["hot"] is not None for m in runs) else "")
                  + (f"  floor {statistics.median(m['floor'] for m in runs):.3f} ms/req, server ÷ floor "
                     f"x{statistics.median(m['server'] / m['floor'] for m in runs):.2f}"
                     if all(m["floor"] for m in runs) else ""))
        for label, _ in binaries[1:]:
            lower = sum(b["server"] < a["server"] for a, b in zip(results[base_label], results[label]))
            # Each round's servers ran back to back: the ratio within a round cancels the drift of
            # a machine whose load changes between rounds.
            paired = statistics.median(b["server"] / a["server"] for a, b in zip(results[base_label], results[label]))
            print(f"  {label} used less server CPU than {base_label} in {lower} of {args.rounds} rounds; "
                  f"median of the rounds' ratios {paired - 1:+.1%}")
    except bench.Interrupted:
        log("interrupted")
        return 130
    finally:
        bench.PROCS.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
