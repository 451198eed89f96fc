#!/usr/bin/env python3
"""Two `clip-server serve` processes on one PostgreSQL library: how long until an upload
acknowledged by one is searchable on the other, and uploads/s with both taking uploads at once
(against one server on PostgreSQL and one on SQLite, same clients and images).

Re-run: swift build -c release --product clip-server && python3 bench/pg-two-servers.py
        [--model Models/demo] [--binary .build/release/clip-server] [--latency-rounds 40]
        [--uploads 240] [--clients 4]
Uses $CLIP_TEST_POSTGRES_URL's server when set, else starts one with tools/pg-test-server.sh.
Standard library only. Prints one JSON object; timings on a shared machine are noisy (the load
average is in the output).
"""
import argparse, json, os, random, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pg_common import ROOT, Postgres, Server, load, percentile, plain_model, random_png


def upload(connection, seed):
    status, body = connection.request_json("POST", f"/index?name=bench-{seed}.png", random_png(seed), "image/png")
    assert status == 200, (status, body)
    return body["indexed"][0]["id"]


def visible(connection, image_id):
    status, body = connection.request_json("POST", "/search", json.dumps({"image_id": image_id, "k": 1}), "application/json")
    return status == 200 and [r["id"] for r in body.get("results", [])] == [image_id]


def latency(a, b, rounds):
    ca, cb = a.connection(), b.connection()
    delays = []
    rng = random.Random(7)
    for i in range(rounds):
        time.sleep(rng.random())   # land anywhere in B's once-a-second refresh
        image_id = upload(ca, 1_000_000 + i)
        acknowledged = time.perf_counter()
        while not visible(cb, image_id):
            time.sleep(0.005)
        delays.append((time.perf_counter() - acknowledged) * 1000)
    return {"rounds": rounds, "p50_ms": round(percentile(delays, 50), 1), "p90_ms": round(percentile(delays, 90), 1),
            "max_ms": round(max(delays), 1), "min_ms": round(min(delays), 1)}


def throughput(servers, uploads, clients_per_server, first_seed):
    """Each server gets `clients_per_server` keep-alive clients; `uploads` new images in all."""
    seeds = iter(range(first_seed, first_seed + uploads))
    lock = threading.Lock()
    def client(server):
        connection = server.connection()
        while True:
            with lock:
                seed = next(seeds, None)
            if seed is None:
                return
            upload(connection, seed)
    threads = [threading.Thread(target=client, args=(s,)) for s in servers for _ in range(clients_per_server)]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    elapsed = time.perf_counter() - start
    return {"servers": len(servers), "clients": len(threads), "uploads": uploads, "seconds": round(elapsed, 2),
            "uploads_per_s": round(uploads / elapsed, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.join(ROOT, "Models/demo"))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/clip-server"))
    parser.add_argument("--latency-rounds", type=int, default=40)
    parser.add_argument("--uploads", type=int, default=240)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    args.model = plain_model(args.model, tempfile.mkdtemp(prefix="bench-pg-model-"))
    postgres = Postgres()
    result = {"model": os.path.basename(os.path.normpath(args.model)), "load_before": load()}
    try:
        url = postgres.new_database("bench_two_servers")
        a, b = Server(args.binary, args.model, url), Server(args.binary, args.model, url)
        try:
            result["visible_on_other_server"] = latency(a, b, args.latency_rounds)
            result["postgres_two_servers"] = throughput([a, b], args.uploads, args.clients, 2_000_000)
            result["postgres_one_server"] = throughput([a], args.uploads, 2 * args.clients, 3_000_000)
        finally:
            a.stop(); b.stop()
        with tempfile.TemporaryDirectory(prefix="bench-pg-sqlite-") as folder:
            sqlite = Server(args.binary, args.model, os.path.join(folder, "index.sqlite"))
            try:
                result["sqlite_one_server"] = throughput([sqlite], args.uploads, 2 * args.clients, 4_000_000)
            finally:
                sqlite.stop()
        result["postgres_rows"] = int(postgres.psql("SELECT count(*) FROM images", "bench_two_servers"))
    finally:
        postgres.stop()
    result["load_after"] = load()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
