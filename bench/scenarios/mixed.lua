-- 70% reads (search, stores, customers, barcode), 25% receipt creates, 4% updates (product
-- price or customer), 1% deletes of products created for the purpose (each thread its own share).
dofile("bench/scenarios/common.lua")
function init(args)
  load_data()
  next_delete = index + 1
  threads_count = tonumber(os.getenv("BENCH_THREADS"))
end

function request()
  local r = math.random(100)
  if r <= 70 then
    local k = r % 4
    if k == 0 then return wrk.format("GET", "/api/v1/search?query=" .. pick(DATA.queries) .. "&limit=10", auth)
    elseif k == 1 then return wrk.format("GET", "/api/v1/stores?page=1&limit=20", auth)
    elseif k == 2 then return wrk.format("GET", "/api/v1/customers?page=1&limit=20", auth)
    else return wrk.format("GET", "/api/v1/products/by-barcode/" .. pick(DATA.barcodes), auth) end
  elseif r <= 95 then
    return wrk.format("POST", "/api/v1/receipts", auth, receipt_body(2))
  elseif r <= 99 then
    if r % 2 == 0 then
      local v = pick(DATA.variants)
      return wrk.format("PATCH", "/api/v1/products/" .. v.product .. "/variants/" .. v.id, auth,
        string.format('{"price":%d.%02d}', math.random(1000, 90000), math.random(0, 99)))
    else
      return wrk.format("PATCH", "/api/v1/customers/" .. pick(DATA.customers), auth,
        string.format('{"notes":"bench %d"}', math.random(1000000)))
    end
  else
    local id = DATA.deletes[next_delete]
    if id == nil then return wrk.format("GET", "/api/v1/stores?page=1&limit=20", auth) end
    next_delete = next_delete + threads_count
    return wrk.format("DELETE", "/api/v1/products/" .. id, auth)
  end
end
