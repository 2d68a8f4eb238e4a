dofile("bench/scenarios/common.lua")
function init(args) load_data() end
function request() return wrk.format("GET", "/api/v1/products/by-barcode/" .. pick(DATA.barcodes), auth) end
