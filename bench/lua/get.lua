-- GET a rotating list of paths with a bearer token.
--   wrk ... -s bench/lua/get.lua URL -- <token or -> <paths file, one path a line>
-- Each thread starts at its own offset in the list so threads do not walk in lockstep.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
response = common.response
done = common.done

local requests = {}
local position = 0

function init(args)
   local headers = common.bearer(args[1])
   for _, path in ipairs(common.lines(args[2])) do
      local copy = {}
      for name, value in pairs(headers) do
         copy[name] = value
      end
      table.insert(requests, wrk.format("GET", path, copy))
   end
   position = ((thread_index or 0) * 7919) % #requests
end

function request()
   position = position % #requests + 1
   return requests[position]
end
