#!/usr/bin/env python3
"""Search at 100k stored vectors with the library in PostgreSQL: `GET /search?image_id=` p50 over
HTTP with PostgreSQL against SQLite (both search the server's in-memory vectors; PostgreSQL adds
the round trips for the hits' rows), and inside PostgreSQL pgvector's exact scan against its HNSW
index (recall@10 against the exact scan), timed per query with clock_timestamp() in PL/pgSQL.

Re-run: swift build -c release --product clip-server --product seed-library && python3 bench/pg-search.py
        [--model Models/demo] [--rows 100000] [--requests 300] [--queries 200]
Uses $CLIP_TEST_POSTGRES_URL's server when set, else starts one with tools/pg-test-server.sh.
Standard library only. Prints one JSON object (with the load average: the machine is shared).
"""
import argparse, json, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pg_common import ROOT, Postgres, Server, load, percentile, plain_model


def http_p50(binary, model, db, ids, requests):
    server = Server(binary, model, db)
    try:
        connection = server.connection()
        for image_id in ids[:20]:   # warm-up
            connection.request_json("GET", f"/search?image_id={image_id}&k=10")
        times = []
        for i in range(requests):
            start = time.perf_counter()
            status, body = connection.request_json("GET", f"/search?image_id={ids[i % len(ids)]}&k=10")
            times.append((time.perf_counter() - start) * 1000)
            assert status == 200 and len(body["results"]) == 10, (status, body)
        return {"p50_ms": round(percentile(times, 50), 2), "p99_ms": round(percentile(times, 99), 2)}
    finally:
        server.stop()


TIMED = """
SET max_parallel_workers_per_gather = 0;
SET hnsw.ef_search = {ef};
{setup}
CREATE TEMP TABLE queries AS SELECT image_id, vector::vector({dim}) AS v FROM embeddings
    WHERE model = '{model}' ORDER BY (image_id * 7919) % 100003 LIMIT {queries};
CREATE TEMP TABLE timings (query bigint, ms float8, ids bigint[]);
DO $$
DECLARE r record; t0 timestamptz; found bigint[];
BEGIN
  FOR r IN SELECT * FROM queries LOOP
    t0 := clock_timestamp();
    SELECT array_agg(image_id) INTO found FROM (
        SELECT image_id FROM embeddings WHERE model = '{model}' ORDER BY vector::vector({dim}) <=> r.v LIMIT 10) s;
    INSERT INTO timings VALUES (r.image_id, extract(epoch FROM clock_timestamp() - t0) * 1000, found);
  END LOOP;
END $$;
SELECT json_build_object('p50_ms', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                         'p99_ms', round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                         'ids', json_agg(json_build_array(query, ids))) FROM timings;
"""


def in_database(postgres, database, model, dim, queries, setup, ef=40):
    out = postgres.psql(TIMED.format(model=model, dim=dim, queries=queries, setup=setup, ef=ef), database)
    return json.loads(out.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.join(ROOT, "Models/demo"))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/clip-server"))
    parser.add_argument("--seeder", default=os.path.join(ROOT, ".build/release/seed-library"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        dim = json.load(f)["projection_dim"]
    model = os.path.basename(os.path.normpath(args.model))
    args.model = plain_model(args.model, tempfile.mkdtemp(prefix="bench-pg-model-"))
    postgres = Postgres()
    result = {"model": model, "dim": dim, "rows": args.rows, "load_before": load()}
    try:
        url = postgres.new_database("bench_search")
        start = time.time()
        subprocess.run([args.seeder, "--db", url, "--count", str(args.rows), "--model-name", model, "--dim", str(dim)],
                       check=True, stdout=subprocess.DEVNULL)
        result["postgres_seed_s"] = round(time.time() - start, 1)
        ids = [int(x) for x in postgres.psql(f"SELECT image_id FROM embeddings ORDER BY (image_id * 7919) % 100003 LIMIT 300",
                                             "bench_search").split()]
        result["http_image_id_search_postgres"] = http_p50(args.binary, args.model, url, ids, args.requests)
        with tempfile.TemporaryDirectory(prefix="bench-pg-search-") as folder:
            db = os.path.join(folder, "index.sqlite")
            subprocess.run([args.seeder, "--db", db, "--count", str(args.rows), "--model-name", model, "--dim", str(dim)],
                           check=True, stdout=subprocess.DEVNULL)
            result["http_image_id_search_sqlite"] = http_p50(args.binary, args.model, db, ids, args.requests)
        exact = in_database(postgres, "bench_search", model, dim, args.queries, "SET enable_indexscan = off;")
        start = time.time()
        postgres.psql(f"SET maintenance_work_mem = '1GB'; SET max_parallel_maintenance_workers = 1; "
                      f"CREATE INDEX embeddings_hnsw ON embeddings USING hnsw ((vector::vector({dim})) vector_cosine_ops) "
                      f"WHERE model = '{model}'", "bench_search")
        result["pgvector_hnsw_build_s"] = round(time.time() - start, 1)
        truth = {q: set(found) for q, found in exact.pop("ids")}
        result["pgvector_exact_scan"] = exact
        for ef in (40, 100):
            hnsw = in_database(postgres, "bench_search", model, dim, args.queries, "", ef)
            recall = [len(truth[q] & set(found or [])) / 10 for q, found in hnsw.pop("ids")]
            hnsw["recall10"] = round(sum(recall) / len(recall), 3)
            result[f"pgvector_hnsw_ef{ef}"] = hnsw
        postgres.psql("DROP DATABASE bench_search WITH (FORCE)")
    finally:
        postgres.stop()
    result["load_after"] = load()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
