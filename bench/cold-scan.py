#!/usr/bin/env python3
"""Cold-scan latency: the first scan of a barcode (its product grain is activated and loaded from
PostgreSQL) against the second (answered from grain memory). Sequential, one connection, 200 distinct
random barcodes, before any warm-up. Env: BENCH_API, BENCH_TOKEN, BENCH_DATA_JSON. Prints JSON:."""
import http.client, json, os, random, sys, time, urllib.parse

api = urllib.parse.urlparse(os.environ["BENCH_API"])
token = os.environ["BENCH_TOKEN"]
barcodes = json.load(open(os.environ["BENCH_DATA_JSON"]))["barcodes"]
sample = random.Random(7).sample(barcodes, min(200, len(barcodes)))
conn = http.client.HTTPConnection(api.hostname, api.port)
headers = {"Authorization": f"Bearer {token}"}

def scan(code):
    start = time.perf_counter()
    conn.request("GET", f"/api/v1/products/by-barcode/{code}", headers=headers)
    response = conn.getresponse()
    response.read()
    return (time.perf_counter() - start) * 1000, response.status

def stats(results):
    ms = sorted(r[0] for r in results)
    pick = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 3)
    return {"scans": len(ms), "p50Ms": pick(0.5), "p95Ms": pick(0.95), "maxMs": round(ms[-1], 3),
            "errors": sum(1 for r in results if r[1] != 200)}

cold = [scan(c) for c in sample]
warm = [scan(c) for c in sample]
result = {"cold": stats(cold), "warm": stats(warm)}
print("JSON:" + json.dumps(result))
sys.exit(1 if result["cold"]["errors"] or result["warm"]["errors"] else 0)
