#!/usr/bin/env python3
"""The data wrk scenarios draw from, as Lua (data.lua) and JSON (data.json), from the TSV/text files
that bench/run and bench/scale-out export from PostgreSQL into WORK (stores.tsv, variants.tsv, and
optionally queries.txt, customers.txt, deletes.txt)."""
import os
import json, sys, urllib.parse
work = sys.argv[1]
stores = [dict(zip(("id", "terminal"), l.split("\t"))) for l in open(f"{work}/stores.tsv").read().split("\n") if l]
rows = [l.split("\t") for l in open(f"{work}/variants.tsv").read().split("\n") if l]
variants = [{"id": r[0], "product": r[1]} for r in rows]
barcodes = [urllib.parse.quote(r[2], safe="") for r in rows]
lines = lambda name: open(f"{work}/{name}").read().split("\n") if os.path.exists(f"{work}/{name}") else []
queries = [urllib.parse.quote(q) for q in lines("queries.txt") if len(q.strip()) >= 2][:500]
customers = [c for c in lines("customers.txt") if c]
deletes = [d for d in lines("deletes.txt") if d]
lua = lambda items: "{" + ",".join(items) + "}"
q = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
with open(f"{work}/data.lua", "w") as f:
    f.write("DATA = {\n")
    f.write(" stores = " + lua("{id=%s,terminal=%s}" % (q(s["id"]), q(s["terminal"])) for s in stores) + ",\n")
    f.write(" variants = " + lua("{id=%s,product=%s}" % (q(v["id"]), q(v["product"])) for v in variants) + ",\n")
    f.write(" barcodes = " + lua(q(b) for b in barcodes) + ",\n")
    f.write(" queries = " + lua(q(x) for x in queries) + ",\n")
    f.write(" customers = " + lua(q(c) for c in customers) + ",\n")
    f.write(" deletes = " + lua(q(d) for d in deletes) + ",\n}\n")
json.dump({"stores": stores, "variants": variants, "barcodes": barcodes}, open(f"{work}/data.json", "w"))
