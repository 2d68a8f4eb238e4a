dofile("bench/scenarios/common.lua")
function init(args) load_data() end
function request() return wrk.format("GET", "/api/v1/stores?page=1&limit=20", auth) end
