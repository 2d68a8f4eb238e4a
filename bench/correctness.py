#!/usr/bin/env python3
"""The seed's two correctness scenarios, run for real:
1. 5 concurrent receipt creations get 5 unique numbers, repeated 100 times;
2. stock after a receipt equals stock before minus the quantity sold, for every line.
Prints one JSON line; exits non-zero when a check fails. Env: BENCH_API, BENCH_TOKEN, BENCH_DATA_JSON."""
import json, os, random, sys, uuid, urllib.request
from concurrent.futures import ThreadPoolExecutor

api, token = os.environ["BENCH_API"], os.environ["BENCH_TOKEN"]
data = json.load(open(os.environ["BENCH_DATA_JSON"]))
rounds = int(os.environ.get("BENCH_ROUNDS", "100"))

def call(method, path, body=None):
    request = urllib.request.Request(api + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("authorization", "Bearer " + token)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:300]

def receipt(store, lines):
    return {"id": str(uuid.uuid4()), "storeId": store["id"], "terminalId": store["terminal"],
            "items": [{"variantId": v, "quantity": q} for v, q in lines],
            "payments": [{"method": "cash", "amount": 1000000000}]}

created, failures, ids = 0, [], []
with ThreadPoolExecutor(5) as pool:
    for round_no in range(rounds):
        store = random.choice(data["stores"])
        bodies = [receipt(store, [(random.choice(data["variants"])["id"], 1) for _ in range(2)]) for _ in range(5)]
        answers = list(pool.map(lambda b: call("POST", "/api/v1/receipts", b), bodies))
        created += sum(1 for status, _ in answers if status == 201)
        ids += [body["id"] for status, body in answers if status == 201]
        numbers = [body["receiptNumber"] for status, body in answers if status == 201]
        if len(numbers) != 5 or len(set(numbers)) != 5:
            failures.append({"round": round_no, "answers": [(s, b if s != 201 else b["receiptNumber"]) for s, b in answers]})

stock_checks, stock_failures = 0, []
for _ in range(20):
    store = random.choice(data["stores"])
    lines = [(v["id"], q) for v, q in zip(random.sample(data["variants"], 3), (1, 2, 3))]
    def level(variant):
        status, body = call("GET", f"/api/v1/stores/{store['id']}/stock?variantId={variant}")
        return body["items"][0]["quantity"] if status == 200 and body["items"] else 0
    before = {v: level(v) for v, _ in lines}
    status, body = call("POST", "/api/v1/receipts", receipt(store, lines))
    created += 1 if status == 201 else 0
    if status == 201:
        ids.append(body["id"])
    for v, q in lines:
        stock_checks += 1
        after = level(v)
        if status != 201 or abs(after - (before[v] - q)) > 1e-9:
            stock_failures.append({"variant": v, "before": before[v], "sold": q, "after": after, "status": status})

result = {"uniqueNumberRounds": rounds, "uniqueNumberFailures": len(failures), "stockChecks": stock_checks,
          "stockFailures": len(stock_failures), "created": created, "ids": ids, "examples": (failures + stock_failures)[:3]}
print("JSON:" + json.dumps(result))
sys.exit(1 if failures or stock_failures else 0)
