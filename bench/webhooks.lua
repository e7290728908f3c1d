-- wrk script for bench/ingest.py: POSTs pre-signed bodies, each sent once, in file order.
-- The data file holds one request a line: "<X-Hub-Signature-256> <one-line JSON body>".
-- Bounded in count (the file) and in time (wrk -d). Prints one JSON line at the end.
local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   local path, nthreads = args[1], tonumber(args[2] or "1")
   target = args[3] or "/webhooks/whatsapp"
   reqs = {}
   local n = 0
   for line in io.lines(path) do
      if n % nthreads == id then
         local sig, body = line:match("^(%S+) (.*)$")
         reqs[#reqs + 1] = wrk.format("POST", target, {
            ["Content-Type"] = "application/json",
            ["X-Hub-Signature-256"] = sig,
         }, body)
      end
      n = n + 1
   end
   i = 0
   exhausted = 0
end

function request()
   i = i + 1
   if i > #reqs then
      exhausted = 1
      i = #reqs  -- resend the last one (a duplicate delivery) rather than stall the socket
      if wrk.thread and wrk.thread.stop then wrk.thread:stop() end
   end
   return reqs[i]
end

function done(summary, latency, requests)
   local ex = 0
   for _, t in ipairs(threads) do ex = ex + (t:get("exhausted") or 0) end
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
      '"max_us": %d, "mean_us": %.1f, "err_connect": %d, "err_read": %d, "err_write": %d, ' ..
      '"err_status": %d, "err_timeout": %d, "exhausted": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write,
      e.status, e.timeout, ex))
end
