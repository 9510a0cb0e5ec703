-- Spread one wrk over several servers of the same app: thread i connects to the i-th port of
-- BENCH_SPREAD_PORTS (mod their number), and otherwise does what BENCH_SPREAD_SCRIPT (a
-- script of this directory: get.lua, post_cleaning.lua) does, with that script's arguments.
--   BENCH_SPREAD_SCRIPT=get.lua BENCH_SPREAD_PORTS="8001 8002" \
--     wrk -t4 -c32 ... -s bench/lua/spread.lua http://127.0.0.1:8001 -- <get.lua's arguments>
-- One wrk, so its latency percentiles cover every request; with as many threads as servers
-- (or a multiple), each server gets the same share of the connections. The ports come from
-- the environment because setup() runs before any thread's init(args) sees the arguments.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local script = os.getenv("BENCH_SPREAD_SCRIPT")
assert(script, "BENCH_SPREAD_SCRIPT is not set")
dofile(dir .. script)

local ports = {}
for port in string.gmatch(os.getenv("BENCH_SPREAD_PORTS") or "", "%d+") do
   table.insert(ports, port)
end
assert(#ports > 0, "BENCH_SPREAD_PORTS names no port")

local inner_setup = setup
local started = 0

function setup(thread)
   if inner_setup ~= nil then
      inner_setup(thread)
   end
   thread.addr = wrk.lookup(wrk.host, ports[started % #ports + 1])[1]
   started = started + 1
end
