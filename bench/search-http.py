#!/usr/bin/env python3
"""/search latency over HTTP on loopback (p50/p99) at 10k and 100k stored embeddings.

Re-run: swift build -c release && python3 bench/search-http.py [--model Models/clip-vit-base-patch32]
        [--binary .build/release/clip-server] [--sizes 10000,100000] [--requests 300]
(standard library only). For each size it seeds a fresh database with random unit vectors
(the `seed-library` bench helper), starts `clip-server serve --port 0` on it, then times
sequential keep-alive requests: `GET /search?image_id=...` (search only: no text encoding) and
`GET /search?q=...` (text encoding + search). Prints one JSON line per size and query kind.
Timings on a shared machine are noisy; say so when quoting them. Without the real weights,
tools/clipfixture.py DIR makes a seeded random-weight ViT-B/32 (same shapes, same costs).

Measured 2026-11-27 (release build, random-weight ViT-B/32, 512 dims, 2 shared cores, other builds
running), 300 sequential requests, k=10:
  10k:  image_id p50 2.2 ms / p99 2.9 ms;  text p50 25.1 ms / p99 34.3 ms
  100k: image_id p50 11.8 ms / p99 15.3 ms; text p50 35.3 ms / p99 42.0 ms
"""
import argparse, http.client, json, os, random, shutil, signal, subprocess, sys, tempfile, time


def percentile(values, p):
    values = sorted(values)
    i = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[i]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.join(root, "Models/clip-vit-base-patch32"))
    parser.add_argument("--binary", default=os.path.join(root, ".build/release/clip-server"))
    parser.add_argument("--seeder", default=os.path.join(root, ".build/release/seed-library"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        dim = json.load(f)["projection_dim"]
    model_name = os.path.basename(os.path.normpath(args.model))

    for size in [int(s) for s in args.sizes.split(",")]:
        workdir = tempfile.mkdtemp(prefix="bench-search-")
        db = os.path.join(workdir, "index.sqlite")
        try:
            start = time.time()
            subprocess.run([args.seeder, "--db", db, "--count", str(size),
                            "--model-name", model_name, "--dim", str(dim)], check=True, stdout=subprocess.DEVNULL)
            seed_s = time.time() - start
            server = subprocess.Popen([args.binary, "serve", "--model", args.model, "--db", db, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root)
            try:
                line = json.loads(server.stdout.readline())
                host, port = line["listening"].removeprefix("http://").rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                for _ in range(600):
                    try:
                        conn.request("GET", "/readyz"); r = conn.getresponse(); r.read()
                        if r.status == 200:
                            break
                    except OSError:
                        conn = http.client.HTTPConnection(host, int(port), timeout=60)
                    time.sleep(0.1)
                rng = random.Random(7)
                words = ["a dog", "a red car", "mountains at sunset", "a bowl of fruit", "people on a beach"]
                kinds = {
                    "image_id": lambda: f"/search?image_id={rng.randint(1, size)}&k={args.k}",
                    "text": lambda: f"/search?q={rng.choice(words).replace(' ', '+')}&k={args.k}",
                }
                for kind, make_path in kinds.items():
                    for _ in range(10):  # warm-up
                        conn.request("GET", make_path()); conn.getresponse().read()
                    latencies = []
                    for _ in range(args.requests):
                        path = make_path()
                        t0 = time.perf_counter()
                        conn.request("GET", path)
                        response = conn.getresponse(); response.read()
                        latencies.append((time.perf_counter() - t0) * 1000)
                        if response.status != 200:
                            sys.exit(f"{path}: HTTP {response.status}")
                    print(json.dumps({"stored": size, "query": kind, "requests": args.requests, "k": args.k,
                                      "p50_ms": round(percentile(latencies, 50), 3),
                                      "p99_ms": round(percentile(latencies, 99), 3),
                                      "seed_seconds": round(seed_s, 1), "model": model_name}), flush=True)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
