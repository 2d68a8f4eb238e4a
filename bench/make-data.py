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
# data.lua reads plain files at wrk start-up: a Lua table constructor with 100,000 strings
# exceeds LuaJIT's constants-per-function limit (wrk then exits at once, which is what --scale
# large did before).
def write(name, rows):
    with open(f"{work}/data-{name}", "w") as f:
        f.write("".join(r + "\n" for r in rows))
write("stores.tsv", (f"{x['id']}\t{x['terminal']}" for x in stores))
write("variants.tsv", (f"{v['id']}\t{v['product']}" for v in variants))
write("barcodes.txt", barcodes)
write("queries.txt", queries)
write("customers.txt", customers)
write("deletes.txt", deletes)
with open(f"{work}/data.lua", "w") as f:
    f.write(f"""local dir = {json.dumps(work)}
local function lines(name)
  local t = {{}}
  for l in io.lines(dir .. "/data-" .. name) do t[#t + 1] = l end
  return t
end
local function records(name, a, b)
  local t = {{}}
  for _, l in ipairs(lines(name)) do
    local x, y = string.match(l, "([^\\t]*)\\t(.*)")
    t[#t + 1] = {{[a] = x, [b] = y}}
  end
  return t
end
DATA = {{
  stores = records("stores.tsv", "id", "terminal"),
  variants = records("variants.tsv", "id", "product"),
  barcodes = lines("barcodes.txt"),
  queries = lines("queries.txt"),
  customers = lines("customers.txt"),
  deletes = lines("deletes.txt"),
}}
""")
json.dump({"stores": stores, "variants": variants, "barcodes": barcodes}, open(f"{work}/data.json", "w"))
