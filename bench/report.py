#!/usr/bin/env python3
"""Turns a run's raw results into report.json, summary.md and chart.svg.
usage: report.py RUN_DIR (holding raw/*.json, baselines.json, audit.json, correctness.json, meta.json)"""
import glob, json, os, sys

run = sys.argv[1]
meta = json.load(open(f"{run}/meta.json"))
baselines = json.load(open(f"{run}/baselines.json"))
audit = json.load(open(f"{run}/audit.json"))
correctness = json.load(open(f"{run}/correctness.json")) if os.path.exists(f"{run}/correctness.json") else None
optional = lambda name: json.load(open(f"{run}/{name}")) if os.path.exists(f"{run}/{name}") else None
cold_scan, api_memory = optional("cold-scan.json"), optional("api-memory.json")

SEED_BEST = {  # published by the system we rebuild (different hardware: reference only)
    "Health check": (16669, 1), "Search": (5709, 4), "Stores list": (9156, 2), "Customers list": (9386, 2),
    "Receipts create": (8121, 3), "Barcode scan": (10938, 2), "Large receipt": (7169, 3), "Mixed load": (6327, 8)}
# Targets: ratio to the baseline, and p99 limits at 10 connections.
TARGETS = {"Health check": ("kestrel", 0.9, 5), "Barcode scan": ("kestrel", 0.5, 5), "Stores list": ("kestrel", 0.4, 5),
           "Customers list": ("kestrel", 0.4, 5), "Search": ("kestrel", 0.3, 5), "Receipts create": ("pgbench", 1.0, 15),
           "Large receipt": ("pgbench", 0.5, 30), "Mixed load": ("kestrel", 0.3, None)}

scenarios = []
for path in sorted(glob.glob(f"{run}/raw/*.json")):
    raw = json.load(open(path))
    name = raw["name"]
    ratio_to, target, p99_limit = TARGETS[name]
    base = baselines["kestrelRps"] if ratio_to == "kestrel" else baselines["pgbenchTps"]
    failed = raw["non2xx"] > 0 or raw["socketErrors"] > 0 or raw["requests"] == 0
    scenarios.append({
        "name": name, "order": raw["order"], "connections": raw["connections"], "seconds": raw["seconds"], "requests": raw["requests"],
        "rps": raw["rps"], "p50Ms": raw["p50Ms"], "p95Ms": raw["p95Ms"], "p99Ms": raw["p99Ms"], "maxMs": raw["maxMs"],
        "non2xx": raw["non2xx"], "socketErrors": raw["socketErrors"], "created": raw["created"],
        "ratio": round(raw["rps"] / base, 3) if base else None, "ratioTo": ratio_to, "status": "FAILED" if failed else "ok",
        "ratioToUnnumbered": round(raw["rps"] / baselines["pgbenchUnnumberedTps"], 3)
            if ratio_to == "pgbench" and baselines.get("pgbenchUnnumberedTps") else None,
        "target": target, "p99TargetMs": p99_limit if raw["connections"] == 10 else None, "cpu": raw.get("cpu")})
scenarios.sort(key=lambda s: s["order"])

if correctness:
    correctness.pop("ids", None)
report = {"machine": meta["machine"], "startedAt": meta["startedAt"], "mode": meta["mode"], "dataSet": meta["dataSet"],
          "baselines": baselines, "scenarios": scenarios, "audit": audit, "correctness": correctness,
          "coldScan": cold_scan, "apiMemory": api_memory,
          "seedBestPublished": {"note": "as published by the seed system, on different hardware; reference only",
                                "figures": {k: {"rps": v[0], "p99Ms": v[1]} for k, v in SEED_BEST.items()}}}
for s in scenarios:
    del s["order"]
json.dump(report, open(f"{run}/report.json", "w"), indent=2)

m = meta["machine"]
lines = [f"# JowiShop benchmark, {meta['startedAt']} ({meta['mode']})", "",
         f"Machine: {m['cores']} cores, {m['memoryGb']} GB, {m['os']}; load generator (wrk) on the same machine. "
         f"Data set: {meta['dataSet']}.", "",
         f"Baselines in this run: bare Kestrel {baselines['kestrelRps']:,.0f} RPS (same wrk parameters, 10 connections); "
         f"pgbench single-receipt transaction {baselines['pgbenchTps']:,.0f} TPS (10 clients, same PostgreSQL, the store's fence "
         f"numbering each receipt gaplessly); the same writes unfenced (numbers from a free-running sequence, not gapless) "
         f"{baselines.get('pgbenchUnnumberedTps', 0):,.0f} TPS. The receipt targets are ratios to the fenced transaction "
         f"(since 2026-12-03: before, the baseline was the unfenced writes of the older, larger ledger, so ratios to pgbench "
         f"in earlier runs are not comparable; the ratio to the unfenced writes is shown beside each).", "",
         "| Scenario | Conns | Requests | RPS | p50 ms | p95 ms | p99 ms | max ms | non-2xx | socket err | Ratio | Target | Seed best (other hw) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
misses = []
for s in scenarios:
    seed = SEED_BEST[s["name"]]
    if s["status"] == "FAILED":
        rps, ratio = f"FAILED ({s['non2xx'] + s['socketErrors']} errors)", "-"
        misses.append(f"{s['name']}: FAILED with {s['non2xx']} non-2xx and {s['socketErrors']} socket errors; its RPS is not a result.")
    else:
        rps, ratio = f"{s['rps']:,.0f}", f"{s['ratio']:.2f}x {s['ratioTo']}"
        if s.get("ratioToUnnumbered"):
            ratio += f" ({s['ratioToUnnumbered']:.2f}x unfenced)"
        if s["ratio"] < s["target"]:
            misses.append(f"{s['name']}: {s['ratio']:.2f}x {s['ratioTo']}, target {s['target']}x (short by {s['target'] - s['ratio']:.2f}x).")
        if s["p99TargetMs"] and s["p99Ms"] > s["p99TargetMs"]:
            misses.append(f"{s['name']}: p99 {s['p99Ms']:.1f} ms, target <= {s['p99TargetMs']} ms.")
    lines.append(f"| {s['name']} | {s['connections']} | {s['requests']:,} | {rps} | {s['p50Ms']:.2f} | {s['p95Ms']:.2f} | {s['p99Ms']:.2f} | "
                 f"{s['maxMs']:.1f} | {s['non2xx']} | {s['socketErrors']} | {ratio} | {s['target']}x {'fenced pgbench' if s['ratioTo'] == 'pgbench' else s['ratioTo']} | {seed[0]:,} RPS, p99 {seed[1]} ms |")
if any(s.get("cpu") for s in scenarios):
    lines += ["", "## CPU per request", "",
              "From /proc over each scenario (10 ms ticks): the API process (co-hosted silo) and PostgreSQL (all its processes); "
              "machine busy is the share of both cores in use (wrk included). "
              f"pgbench's single-receipt transaction cost PostgreSQL {baselines.get('pgbenchPostgresUsPerTransaction', 0):,.0f} µs.", "",
              "| Scenario | API µs/request | PostgreSQL µs/request | Machine busy |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {s['cpu']['apiUsPerRequest']:,.0f} | {s['cpu']['postgresUsPerRequest']:,.0f} | {s['cpu']['machineBusy']:.0%} |"
              for s in scenarios if s.get("cpu")]
lines += ["", "## Audit", "",
          f"- Receipts acknowledged (201): {audit['receiptsAcknowledged']:,}; acknowledged but missing from the database: "
          f"{audit['acknowledgedMissing']} (must be 0); in the database: {audit['receiptsInDatabase']:,}, of which "
          f"{audit['unacknowledgedInDatabase']} were in flight when wrk stopped at its deadline (committed, answer not counted).",
          f"- Per-store receipt numbers gapless and unique: {'yes' if audit['gaplessStores'] else 'NO'} ({audit['stores']} stores).",
          f"- Stock conserved (level = sum of movements, every store and variant): {'yes' if audit['stockConserved'] else 'NO'}."]
if correctness:
    lines += [f"- 5 concurrent receipts get 5 unique numbers: {correctness['uniqueNumberRounds'] - correctness['uniqueNumberFailures']}/{correctness['uniqueNumberRounds']} rounds.",
              f"- Stock after = stock before - quantity sold: {correctness['stockChecks'] - correctness['stockFailures']}/{correctness['stockChecks']} lines."]
if cold_scan and cold_scan["cold"].get("scans"):
    c, w = cold_scan["cold"], cold_scan["warm"]
    lines += ["", "## Cold scans and memory", "",
              f"- First scan of {c['scans']} random barcodes, one connection, before warm-up (product grain activated and loaded "
              f"from PostgreSQL): p50 {c['p50Ms']:.2f} ms, p95 {c['p95Ms']:.2f} ms, max {c['maxMs']:.1f} ms; "
              f"the same barcodes again (grain memory): p50 {w['p50Ms']:.2f} ms, p95 {w['p95Ms']:.2f} ms; errors {c['errors'] + w['errors']}."]
if api_memory:
    lines += [f"- API process (co-hosted silo) memory: peak resident {api_memory['peakRssMb']:,} MB over the run, {api_memory['rssMb']:,} MB at the end."]
lines += ["", "## Targets", ""] + ([f"- {x}" for x in misses] if misses else ["- All targets met."])
lines += ["", "Every non-2xx response and every socket error counts as an error; a scenario with any error is FAILED.",
          "Figures from one machine are comparable only with the baselines measured in the same run.", "", "![chart](chart.svg)"]
open(f"{run}/summary.md", "w").write("\n".join(lines) + "\n")

# Chart: RPS bars with the two baselines as lines, and p99 bars beside them.
W, H, left, top, bottom = 900, 420, 170, 40, 30
ok = [s for s in scenarios]
maxrps = max([baselines["kestrelRps"], baselines["pgbenchTps"]] + [s["rps"] for s in ok] + [1])
maxp99 = max([s["p99Ms"] for s in ok] + [1])
row = (H - top - bottom) / max(len(ok), 1)
rps_w, p99_x, p99_w = 430, left + 470, 230
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<text x="{left}" y="20" font-size="14" font-weight="bold">Requests per second</text>',
       f'<text x="{p99_x}" y="20" font-size="14" font-weight="bold">p99 latency (ms)</text>']
for i, s in enumerate(ok):
    y = top + i * row
    color = "#c0392b" if s["status"] == "FAILED" else "#2e86c1"
    svg.append(f'<text x="{left - 8}" y="{y + row * 0.6:.0f}" text-anchor="end">{s["name"]}</text>')
    w = rps_w * s["rps"] / maxrps
    label = "FAILED" if s["status"] == "FAILED" else f'{s["rps"]:,.0f}'
    svg.append(f'<rect x="{left}" y="{y + 4:.0f}" width="{w:.1f}" height="{row - 8:.0f}" fill="{color}"/>')
    svg.append(f'<text x="{left + w + 4:.1f}" y="{y + row * 0.6:.0f}">{label}</text>')
    pw = p99_w * s["p99Ms"] / maxp99
    svg.append(f'<rect x="{p99_x}" y="{y + 4:.0f}" width="{pw:.1f}" height="{row - 8:.0f}" fill="#7d3c98"/>')
    svg.append(f'<text x="{p99_x + pw + 4:.1f}" y="{y + row * 0.6:.0f}">{s["p99Ms"]:.1f}</text>')
for name, value, color in (("Kestrel", baselines["kestrelRps"], "#27ae60"), ("pgbench", baselines["pgbenchTps"], "#e67e22")):
    x = left + rps_w * value / maxrps
    svg.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{H - bottom}" stroke="{color}" stroke-width="2" stroke-dasharray="5,3"/>')
    svg.append(f'<text x="{x:.1f}" y="{H - 10}" fill="{color}" text-anchor="middle">{name} {value:,.0f}</text>')
svg.append("</svg>")
open(f"{run}/chart.svg", "w").write("\n".join(svg))
print("\n".join(lines))
