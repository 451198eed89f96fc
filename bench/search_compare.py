#!/usr/bin/env python3
"""Search at scale (issue 18): search-bench against numpy and faiss on the same files, in one run.

Makes CLIP-like vectors (uniform random 512-d vectors defeat every graph index and say nothing):
a shared mean direction (CLIP embeddings of unrelated images still have cosine ~0.5), plus a
mixture of Gaussians with uneven weights in a low-dimensional subspace, plus isotropic noise,
normalized. Queries are held-out draws from the same mixture. Then, for each row count:

  search-bench --vectors V --queries Q --dim 512 --k 10 --churn M   (M = 10% of the rows)
  numpy: X @ q + argpartition, one query at a time (OpenBLAS sgemv, its default threads)
  faiss: IndexFlatIP, and IndexHNSWFlat(M=32, inner product, efConstruction 40 as faiss's default)
         at several efSearch, one query at a time, recall@10 against numpy's exact top 10

and writes bench/results/search-<rows>-<date>.json plus one summary line per row count on stdout.

  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy faiss-cpu
  swift build -c release --product search-bench
  /tmp/venv/bin/python bench/search_compare.py --rows 100000,1000000
"""
import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

DIM = 512


def log(message):
    print(f"search_compare: {message}", file=sys.stderr, flush=True)


class World:
    """The mixture both vectors and queries come from (fixed by `seed`)."""

    def __init__(self, seed, intrinsic, clusters, spread, noise, mean_weight):
        rng = np.random.default_rng(seed)
        self.basis = (rng.standard_normal((intrinsic, DIM)) / np.sqrt(DIM)).astype(np.float32)   # (intrinsic, DIM)
        self.centres = rng.standard_normal((clusters, intrinsic)).astype(np.float32)               # (clusters, intrinsic)
        self.weights = rng.dirichlet(np.full(clusters, 0.5))                                        # (clusters)
        mean = rng.standard_normal(DIM)
        self.mean = (mean / np.linalg.norm(mean) * mean_weight * np.sqrt(intrinsic)).astype(np.float32)   # (DIM)
        self.spread, self.noise = spread, noise

    def sample(self, n, seed):
        rng = np.random.default_rng(seed)
        out = np.empty((n, DIM), dtype=np.float32)   # (n, DIM)
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            which = rng.choice(len(self.centres), size=m, p=self.weights)
            latent = self.centres[which] + self.spread * rng.standard_normal((m, self.centres.shape[1]), dtype=np.float32)
            v = latent @ self.basis + self.mean + self.noise / np.sqrt(DIM) * rng.standard_normal((m, DIM), dtype=np.float32)
            out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out


def p50_ms(times):
    return round(float(np.percentile(np.array(times) * 1000, 50)), 3)


def numpy_exact(x, queries, k):
    for q in queries[:5]:
        x @ q
    times, ids = [], []
    for q in queries:
        t = time.perf_counter()
        scores = x @ q
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - t)
        ids.append(top)
    return {"p50_ms": p50_ms(times)}, np.array(ids)


def faiss_runs(x, queries, k, truth, hnsw):
    import faiss
    results = {"threads": faiss.omp_get_max_threads()}
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    times = []
    for q in queries:
        t = time.perf_counter()
        flat.search(q[None, :], k)
        times.append(time.perf_counter() - t)
    results["flat"] = {"p50_ms": p50_ms(times)}
    del flat
    if not hnsw:
        return results
    index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    index.add(x)
    build = time.perf_counter() - t
    runs = []
    for ef in (16, 32, 64, 128):
        index.hnsw.efSearch = ef
        times, found = [], 0
        for q, true_ids in zip(queries, truth):
            t = time.perf_counter()
            _, got = index.search(q[None, :], k)
            times.append(time.perf_counter() - t)
            found += len(set(got[0].tolist()) & set(true_ids.tolist()))
        runs.append({"ef_search": ef, "p50_ms": p50_ms(times), "recall10": round(found / (len(queries) * k), 4)})
    results["hnsw32"] = {"ef_construction": index.hnsw.efConstruction, "build_s": round(build, 1),
                         "serialized_mb": round(len(faiss.serialize_index(index)) / 1e6, 1),
                         "max_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 0),
                         "runs": runs}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--churn", type=float, default=0.1, help="fraction of the rows deleted and added")
    parser.add_argument("--bench", default=".build/release/search-bench")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--faiss-hnsw-max-rows", type=int, default=1_000_000)
    parser.add_argument("--keep", default="", help="a folder: each size's store is kept in DIR/ROWS (for search-bench --reopen)")
    parser.add_argument("--tag", default="", help="appended to the results file's name (a second run the same day)")
    parser.add_argument("--intrinsic", type=int, default=32)
    parser.add_argument("--clusters", type=int, default=256)
    parser.add_argument("--spread", type=float, default=0.6)
    parser.add_argument("--noise", type=float, default=0.6)
    parser.add_argument("--mean-weight", type=float, default=1.0)
    args = parser.parse_args()
    world = World(1, args.intrinsic, args.clusters, args.spread, args.noise, args.mean_weight)
    data = {"intrinsic": args.intrinsic, "clusters": args.clusters, "spread": args.spread, "noise": args.noise,
            "mean_weight": args.mean_weight, "world_seed": 1}
    os.makedirs(args.out, exist_ok=True)
    for rows in [int(r) for r in args.rows.split(",")]:
        churn = int(rows * args.churn)
        load_before = [round(x, 2) for x in os.getloadavg()]
        with tempfile.TemporaryDirectory(prefix="search-compare-") as work:
            vectors_path, queries_path = os.path.join(work, "vectors.f32"), os.path.join(work, "queries.f32")
            log(f"{rows} rows: making {rows + churn} vectors and {args.queries} queries")
            vectors = world.sample(rows + churn, seed=rows)
            queries = world.sample(args.queries, seed=7)
            vectors.astype("<f4").tofile(vectors_path)
            queries.astype("<f4").tofile(queries_path)
            sample = vectors[:2000] @ vectors[:2000].T
            data_stats = {"mean_cosine_2000": round(float(sample[np.triu_indices(2000, 1)].mean()), 3)}
            del vectors
            command = [args.bench, "--vectors", vectors_path, "--queries", queries_path, "--dim", str(DIM),
                       "--k", str(args.k), "--churn", str(churn)]
            if args.keep:
                command += ["--keep", os.path.join(args.keep, str(rows))]
            log(" ".join(command))
            bench = json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)
            log(f"search-bench: {json.dumps(bench)}")
            x = np.fromfile(vectors_path, dtype="<f4").reshape(-1, DIM)[:rows].copy()   # (rows, DIM): the stored rows
        numpy_result, truth = numpy_exact(x, queries, args.k)
        log(f"numpy: {numpy_result}")
        faiss_result = faiss_runs(x, queries, args.k, truth, hnsw=rows <= args.faiss_hnsw_max_rows)
        log(f"faiss: {faiss_result}")
        del x
        record = {"rows": rows, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                  "data": {**data, **data_stats}, "search_bench": bench, "numpy": numpy_result, "faiss": faiss_result,
                  "exact_vs_numpy": round(bench["exact_p50_ms"] / numpy_result["p50_ms"], 3),
                  "load_avg_1_5_15": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}}
        path = os.path.join(args.out, f"search-{rows}-{datetime.date.today().isoformat()}{args.tag}.json")
        with open(path, "w") as f:
            json.dump(record, f, indent=2)
        print(json.dumps({"rows": rows, "search_bench": bench, "numpy_p50_ms": numpy_result["p50_ms"],
                          "faiss_flat_p50_ms": faiss_result["flat"]["p50_ms"],
                          "faiss_hnsw32": faiss_result.get("hnsw32"), "exact_vs_numpy": record["exact_vs_numpy"]}), flush=True)


if __name__ == "__main__":
    main()
