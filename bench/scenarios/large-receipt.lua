dofile("bench/scenarios/common.lua")
function init(args) load_data() end
function request() return wrk.format("POST", "/api/v1/receipts", auth, receipt_body(30)) end
