#!/usr/bin/env python3
"""Text queries per second and latency at 1, 8 and 50 concurrent clients (DESIGN.md 4), with the
server's micro-batching (the default) and without it (`--text-batch-max 1 --batch-window-ms 0`), in
one run on the same model.

    swift build -c release --product clip-server
    python3 bench/concurrent-queries.py --model Models/parity-vitb32 [--seconds 15] [--clients 1,8,50]

The load is wrk (`apt-get install wrk`) with bench/search-queries.lua: each connection sends
`POST /search` with a short query (7 to 11 tokens, 48 different ones in turn) and waits for the
answer before the next, so the figures are closed-loop throughput and per-request latency. The
database is empty, so a request's time is its query's encoding. Prints one JSON line per (mode,
clients) and a table with the errors (connection errors and answers >= 400).

`--queries templated` (the default) sends "a photo of a dog"-style queries from 4 templates, whose
batches share long prefixes, which the text tower computes once; `--queries varied` sends 48 queries
as people type them, which share little more than the first position: run both to see what the
sharing adds.
"""
import argparse
import http.client
import json
import shlex
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def start_server(binary, model, db_dir, extra):
    process = subprocess.Popen(
        [binary, "serve", "--model", model, "--db", os.path.join(db_dir, "index.sqlite"), "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(json.loads(process.stdout.readline())["listening"].rsplit(":", 1)[1])
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    sys.exit("the server did not become ready")


def cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(port, clients, seconds, pid, queries):
    """wrk with `clients` connections (closed loop: each waits for its answer) for `seconds`, and
    the server's CPU time per answer (what a shared machine's load disturbs least)."""
    threads = min(2, clients)
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{int(seconds)}s", "--timeout", "60s",
                          "-s", os.path.join(ROOT, "bench/search-queries.lua"), f"http://127.0.0.1:{port}/search"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True,
                         env={**os.environ, "CLIP_BENCH_QUERIES": queries}).stdout
    result = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    cpu = cpu_seconds(pid) - cpu_before
    return {"server_cpu_ms_per_query": round(1000 * cpu / max(1, result["requests"]), 2), "clients": clients, "requests": result["requests"], "errors": result["errors"] + result["non_2xx"],
            "queries_per_s": round(result["requests"] / result["seconds"], 1), "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"], "mean_ms": result["mean_ms"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--server", default=os.path.join(ROOT, ".build/release/clip-server"))
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", default="1,8,50")
    parser.add_argument("--serve-args", default="", help="more `serve` flags for both modes, e.g. \"--precision int8\"")
    parser.add_argument("--queries", choices=["templated", "varied"], default="templated")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    modes = [("batched", []), ("one at a time", ["--text-batch-max", "1", "--batch-window-ms", "0"])]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for mode, extra in modes:
            db_dir = os.path.join(scratch, mode.replace(" ", "-"))
            os.makedirs(db_dir)
            process, port = start_server(args.server, args.model, db_dir, extra + shlex.split(args.serve_args))
            try:
                run_clients(port, 2, 2, process.pid, args.queries)  # warm-up
                for clients in counts:
                    row = run_clients(port, clients, args.seconds, process.pid, args.queries)
                    row["mode"] = mode
                    print(json.dumps(row), flush=True)
                    rows.append(row)
            finally:
                process.terminate()
                process.wait()
    load = os.getloadavg()[0]
    print(f"\nqueries: {args.queries}; load average at the end: {load:.2f}")
    print("| mode | clients | queries/s | p50 ms | p99 ms | mean ms | server CPU ms per query | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['mode']} | {row['clients']} | {row['queries_per_s']} | {row['p50_ms']} | {row['p99_ms']} "
              f"| {row['mean_ms']} | {row['server_cpu_ms_per_query']} | {row['errors']} |")
    single = next(r for r in rows if r["mode"] == "batched" and r["clients"] == 1)
    for row in rows:
        if row["mode"] == "batched" and row["clients"] > 1:
            print(f"batched, {row['clients']} clients: {row['queries_per_s'] / single['queries_per_s']:.2f}x the one-client rate")


if __name__ == "__main__":
    main()
