-- The accept path, write-heavy and conflict-free. Run with -t N -c N: each thread has one
-- connection and owns one prepared open cleaning, and walks it round this cycle, one cleaner
-- after another from a shared list:
--   POST /cleanings/{id}/offers                    (cleaner's token) -> 201 pending
--   POST /cleanings/{id}/offers/{cleaner}/accept   (owner's token)   -> 200, cleaning assigned
--   POST /cleanings/{id}/offers/mine/cancel        (cleaner's token) -> 200, cleaning open again
-- A cancelled offer is final in Phresh (the same cleaner cannot offer again on that cleaning),
-- so a plain accept/cancel alternation would 409 from its second round; a fresh cleaner per
-- round keeps every request legal. bench/run.py resets the cleanings before each run.
--   wrk -tN -cN ... -s bench/lua/accept.lua URL -- <plan file> <cleaners file>
-- Plan file, line i for thread i: <cleaning id> <owner token>
-- Cleaners file: <username> <token>, one a line; a thread that used them all wraps around and
-- its offers then answer 409 (counted as non-2xx): the list is sized so that does not happen.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
done = common.done

local cleaning_path, owner_headers
local cleaners = {}
local current = 1
local step = 1 -- 1 offer, 2 accept, 3 cancel

function init(args)
   local line = common.lines(args[1])[(thread_index or 0) + 1]
   if line == nil then
      error("accept.lua: the plan has no line for thread " .. tostring(thread_index))
   end
   local id, owner_token = line:match("^(%S+) (%S+)$")
   cleaning_path = "/api/v1/cleanings/" .. id .. "/offers"
   owner_headers = owner_token
   for _, entry in ipairs(common.lines(args[2])) do
      local username, token = entry:match("^(%S+) (%S+)$")
      table.insert(cleaners, { username = username, token = token })
   end
end

-- Advance on the response, not in request(): wrk calls request() once more than it sends,
-- to check the script, and only the response says the server has moved the cleaning on.
function request()
   local cleaner = cleaners[current]
   if step == 1 then
      return wrk.format("POST", cleaning_path, common.bearer(cleaner.token), "")
   elseif step == 2 then
      local path = cleaning_path .. "/" .. cleaner.username .. "/accept"
      return wrk.format("POST", path, common.bearer(owner_headers), "")
   end
   return wrk.format("POST", cleaning_path .. "/mine/cancel", common.bearer(cleaner.token), "")
end

function response(status, headers, body)
   common.response(status, headers, body)
   if step == 3 then
      step = 1
      current = current % #cleaners + 1
   else
      step = step + 1
   end
end
