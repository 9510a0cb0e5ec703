-- POST /api/v1/cleanings with a rotating set of JSON bodies: every request creates a row.
--   wrk ... -s bench/lua/post_cleaning.lua URL -- <token>
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
response = common.response
done = common.done

local bodies = {
   '{"name": "Bench: spring clean, 3 rooms", "description": "Windows too, inside only.", '
      .. '"cleaning_type": "full_clean", "price": "25.00"}',
   '{"name": "Bench: oven and hob", "description": "Grease build-up above the hob.", '
      .. '"cleaning_type": "spot_clean", "price": 31.5}',
   '{"name": "Bench: quick dust", "cleaning_type": "dust_up", "price": "12.99"}',
}
local requests = {}
local position = 0

function init(args)
   for _, body in ipairs(bodies) do
      local headers = common.bearer(args[1])
      headers["Content-Type"] = "application/json"
      table.insert(requests, wrk.format("POST", "/api/v1/cleanings", headers, body))
   end
   position = (thread_index or 0) % #requests
end

function request()
   position = position % #requests + 1
   return requests[position]
end
