-- Shared by every scenario: loads the run's data, counts every response by class, and prints one
-- JSON line in done(). Every status outside 200-299 counts as an error (wrk's own summary only
-- counts >= 400), and socket errors are reported separately.
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function load_data()
  dofile(os.getenv("BENCH_DATA"))
  math.randomseed(os.time() * 1000 + index)
  token = os.getenv("BENCH_TOKEN")
  non2xx, created, ok2xx = 0, 0, 0
  -- Every acknowledged receipt id goes to a file, so the audit can check each one is in the database.
  local ids = os.getenv("BENCH_IDS")
  if ids then acknowledged = io.open(ids .. "/" .. os.getenv("BENCH_SCENARIO") .. "-" .. index .. ".txt", "a") end
  auth = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. string.sub(body or "", 1, 200) .. "\n") end
  else
    ok2xx = ok2xx + 1
  end
  if status == 201 then
    created = created + 1
    if acknowledged then
      local id = string.match(body or "", '"id":"([0-9a-f%-]+)"')
      if id then acknowledged:write(id, "\n"); acknowledged:flush() end
    end
  end
end

function pick(list) return list[math.random(#list)] end

function uuid()
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = 0x40 + t[7] % 16
  t[9] = 0x80 + t[9] % 64
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", unpack(t))
end

function receipt_body(lines)
  local store = pick(DATA.stores)
  local items = {}
  for i = 1, lines do
    items[i] = string.format('{"variantId":"%s","quantity":1}', pick(DATA.variants).id)
  end
  return string.format('{"id":"%s","storeId":"%s","terminalId":"%s","items":[%s],"payments":[{"method":"cash","amount":1000000000}]}',
    uuid(), store.id, store.terminal, table.concat(items, ","))
end

function done(summary, latency, requests)
  local n2, c, ok = 0, 0, 0
  for _, t in ipairs(threads) do
    n2 = n2 + (t:get("non2xx") or 0)
    c = c + (t:get("created") or 0)
    ok = ok + (t:get("ok2xx") or 0)
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'JSON:{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50Ms":%.3f,"p95Ms":%.3f,"p99Ms":%.3f,"maxMs":%.3f,"non2xx":%d,"socketErrors":%d,"created":%d,"ok":%d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, n2, e.connect + e.read + e.write + e.timeout, c, ok))
end
