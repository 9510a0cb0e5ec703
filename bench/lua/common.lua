-- Shared by every bench script: count each response's status per thread, and have done()
-- print the totals in lines bench/run.py parses ("BENCH status <code> <count>").
-- Also hands each thread an index (0, 1, ...) so a script can give threads their own data.
local common = {}

local threads = {}
statuses = {}
sample = nil

function common.setup(thread)
   thread:set("thread_index", #threads)
   table.insert(threads, thread)
end

function common.response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if (status < 200 or status > 299) and sample == nil then
      sample = status .. " " .. string.sub(body or "", 1, 300):gsub("%s+", " ")
   end
end

function common.done(summary, latency, requests)
   local totals = {}
   local non2xx = 0
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         totals[status] = (totals[status] or 0) + count
         if status < 200 or status > 299 then
            non2xx = non2xx + count
         end
      end
      local thread_sample = thread:get("sample")
      if thread_sample ~= nil then
         io.write("BENCH sample " .. thread_sample .. "\n")
      end
   end
   for status, count in pairs(totals) do
      io.write(string.format("BENCH status %d %d\n", status, count))
   end
   io.write(string.format("BENCH non2xx %d\n", non2xx))
end

-- Lines of a file, without blanks.
function common.lines(path)
   local result = {}
   for line in io.lines(path) do
      if line ~= "" then
         table.insert(result, line)
      end
   end
   return result
end

function common.bearer(token)
   if token == nil or token == "-" then
      return {}
   end
   return { ["Authorization"] = "Bearer " .. token }
end

return common
