#!/usr/bin/env python3
"""Scans every barcode of a tenant once and reports the cache's state and the API's memory.

usage: bench/cache-memory.py --api http://127.0.0.1:5000 --pg-port 55432 [--db jowishop] [--threads 8]
Reads the demo tenant's barcodes with psql, logs in as the demo admin, scans them all, and prints
/health/cache before and after (active product grains, hits, misses, managed heap, working set).
"""
import argparse, json, subprocess, sys, time, urllib.parse, urllib.request
from concurrent.futures import ThreadPoolExecutor

parser = argparse.ArgumentParser()
parser.add_argument("--api", default="http://127.0.0.1:5000")
parser.add_argument("--pg-port", default="55432")
parser.add_argument("--db", default="jowishop")
parser.add_argument("--threads", type=int, default=8)
args = parser.parse_args()

def call(method, path, body=None, token=None):
    request = urllib.request.Request(args.api + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None

barcodes = subprocess.run(
    ["psql", "-h", "127.0.0.1", "-p", args.pg_port, "-U", "postgres", args.db, "-At", "-c",
     "SELECT barcode FROM variant_barcodes WHERE tenant_id = '0a000000-0000-4000-8000-000000000001' AND deleted_at IS NULL"],
    check=True, capture_output=True, text=True).stdout.split()
status, login = call("POST", "/api/v1/auth/login", {"login": "admin@jowi.shop", "password": "Admin#12345"})
token = login["accessToken"]

def cache():
    # Cluster-wide figures: for operators only (any tenant's admin under ./start's Development settings).
    return call("GET", "/api/v1/health/cache", token=token)[1]

before = cache()
started = time.time()
with ThreadPoolExecutor(args.threads) as pool:
    statuses = list(pool.map(lambda code: call("GET", "/api/v1/products/by-barcode/" + urllib.parse.quote(code, safe=""), token=token)[0], barcodes))
elapsed = time.time() - started
after = cache()
failed = sum(1 for s in statuses if s != 200)
mb = lambda b: round(b / 1048576, 1)
print(json.dumps({
    "barcodesScanned": len(barcodes), "failed": failed, "seconds": round(elapsed, 1),
    "before": before, "after": after,
    "managedHeapMbBefore": mb(before["managedHeapBytes"]), "managedHeapMbAfter": mb(after["managedHeapBytes"]),
    "workingSetMbBefore": mb(before["workingSetBytes"]), "workingSetMbAfter": mb(after["workingSetBytes"]),
}, indent=2))
sys.exit(1 if failed else 0)
