#!/usr/bin/env python3
"""Text queries per second and latency at 1, 8 and 50 concurrent clients (DESIGN.md 4), with the
server's micro-batching (the default) and without it (`--text-batch-max 1 --text-batch-ms 0`), in
one run on the same model.

    swift build -c release --product clip-server
    python3 bench/concurrent-queries.py --model Models/parity-vitb32 [--seconds 15] [--clients 1,8,50]

Each client holds one keep-alive connection and sends `POST /search` with a short query (5 to 9
tokens, a different one each time) and waits for the answer before the next: the figures are
closed-loop throughput and per-request latency. The database is empty, so a request's time is its
query's encoding. Prints one JSON line per (mode, clients) and a table; every answer must be 200.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBJECTS = ["dog", "cat", "red car", "mountain lake", "old bridge", "city at night", "bowl of fruit",
            "child on a bike", "snowy forest", "sailing boat", "birthday cake", "desert road"]
STYLES = ["a photo of a", "a blurry picture of a", "a close up of the", "a drawing of a"]


def query(n):
    return f"{STYLES[n % len(STYLES)]} {SUBJECTS[(n // len(STYLES)) % len(SUBJECTS)]} {n}"


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


def run_clients(port, clients, seconds, counter_start):
    latencies, errors, lock = [], [], threading.Lock()
    stop_at = time.perf_counter() + seconds
    counter = [counter_start]

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.perf_counter() < stop_at:
            with lock:
                n = counter[0]
                counter[0] += 1
            body = json.dumps({"text": query(n), "k": 10})
            start = time.perf_counter()
            connection.request("POST", "/search", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                with lock:
                    errors.append(response.status)
        with lock:
            latencies.extend(mine)

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "clients": clients, "requests": len(latencies), "errors": len(errors),
        "queries_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "mean_ms": round(1000 * statistics.fmean(latencies), 1),
    }, counter[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--server", default=os.path.join(ROOT, ".build/release/clip-server"))
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", default="1,8,50")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    modes = [("batched", []), ("one at a time", ["--text-batch-max", "1", "--text-batch-ms", "0"])]
    rows, counter = [], 0
    with tempfile.TemporaryDirectory() as scratch:
        for mode, extra in modes:
            db_dir = os.path.join(scratch, mode.replace(" ", "-"))
            os.makedirs(db_dir)
            process, port = start_server(args.server, args.model, db_dir, extra)
            try:
                run_clients(port, 2, 2, 10**6)  # warm-up
                for clients in counts:
                    row, counter = run_clients(port, clients, args.seconds, counter)
                    row["mode"] = mode
                    print(json.dumps(row), flush=True)
                    rows.append(row)
            finally:
                process.terminate()
                process.wait()
    load = os.getloadavg()[0]
    print(f"\nload average at the end: {load:.2f}")
    print("| mode | clients | queries/s | p50 ms | p99 ms | mean ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['mode']} | {row['clients']} | {row['queries_per_s']} | {row['p50_ms']} | {row['p99_ms']} "
              f"| {row['mean_ms']} | {row['errors']} |")
    single = next(r for r in rows if r["mode"] == "batched" and r["clients"] == 1)
    for row in rows:
        if row["mode"] == "batched" and row["clients"] > 1:
            print(f"batched, {row['clients']} clients: {row['queries_per_s'] / single['queries_per_s']:.2f}x the one-client rate")


if __name__ == "__main__":
    main()
