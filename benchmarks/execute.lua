-- wrk script for benchmarks/execute.py: POSTs a JSON body whose user id is unique per
-- request, stops after a fixed number of answers, writes the ids answered (so the runner
-- can check each produced exactly one run) and reports counts and latency as JSON.
--
-- usage: wrk -t1 -s execute.lua URL -- BODY_FILE TOKEN REQUESTS TAG DONE_FILE
--
-- BODY_FILE holds the placeholder "__ID__" where the user id goes. wrk's main thread
-- sleeps for the whole -d duration even after the worker thread stopped, so the thread
-- writes DONE_FILE and the runner interrupts wrk (SIGINT), which then reports.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = io.open(args[1], "rb")
  local body = file:read("*a")
  file:close()
  local at = body:find("__ID__", 1, true)
  prefix, suffix = body:sub(1, at - 1), body:sub(at + 6)
  token, limit, tag, done_file = args[2], tonumber(args[3]), args[4], args[5]
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  sent, answered, non2xx = 0, 0, 0
  ids = {}
end

function request()
  sent = sent + 1
  return wrk.format("POST", nil, headers, prefix .. tag .. "-" .. sent .. suffix)
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  local id = body:match('"id":"(' .. tag .. '%-%d+)"')
  ids[#ids + 1] = id or "?"
  if answered == limit then
    wrk.thread:stop()
    local out = io.open(done_file, "w")
    out:write(table.concat(ids, "\n"))
    out:close()
  end
end

function done(summary, latency, requests)
  local a, n = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("answered")
    n = n + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"answered": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    a, n, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
