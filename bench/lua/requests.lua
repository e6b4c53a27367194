-- wrk script for Conduit's benchmark (bench/run.py writes its inputs).
--
--   wrk ... -s bench/lua/requests.lua http://127.0.0.1:PORT -- REQUESTS_FILE AUTHORIZATION NONCE
--
-- REQUESTS_FILE: one request per line, "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty). Each wrk
-- thread sends them round-robin. "{{n}}" in a body becomes "<nonce>-<thread>-<counter>", so every
-- write is unique (titles, comment bodies) within and across runs.
-- AUTHORIZATION: the whole header value ("Token <jwt>"), or "-" for anonymous requests.
-- done() prints one line, "BENCH_RESULT {json}", with latencies in microseconds.

local next_thread = 0

function setup(thread)
   next_thread = next_thread + 1
   thread:set("thread_number", next_thread)
end

local entries = {}
local cursor = 0
local counter = 0
local nonce = ""
local authorization = nil

local function headers_for(body)
   local headers = {}
   if authorization then
      headers["Authorization"] = authorization
   end
   if body then
      headers["Content-Type"] = "application/json"
   end
   return headers
end

local function parse(line)
   local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
   if not method then
      error("bad request line: " .. line)
   end
   if body == "" then
      body = nil
   end
   local entry = { method = method, path = path, body = body }
   if not (body and body:find("{{n}}", 1, true)) then
      -- Fixed requests are formatted once; only templated bodies cost work per request.
      entry.fixed = wrk.format(method, path, headers_for(body), body)
   end
   return entry
end

function init(args)
   local file = assert(io.open(args[1], "r"))
   if args[2] ~= "-" then
      authorization = args[2]
   end
   nonce = args[3] or "0"
   for line in file:lines() do
      if line ~= "" then
         entries[#entries + 1] = parse(line)
      end
   end
   file:close()
   assert(#entries > 0, "no requests in " .. args[1])
end

function request()
   cursor = cursor % #entries + 1
   local entry = entries[cursor]
   if entry.fixed then
      return entry.fixed
   end
   counter = counter + 1
   local unique = nonce .. "-" .. tostring(thread_number) .. "-" .. tostring(counter)
   local body = entry.body:gsub("{{n}}", unique)
   return wrk.format(entry.method, entry.path, headers_for(body), body)
end

function done(summary, latency, requests)
   local e = summary.errors
   local mean = latency.mean
   if summary.requests == 0 or mean ~= mean then
      mean = 0 -- no samples: keep the line valid JSON (NaN is not)
   end
   io.write(string.format(
      'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, mean, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9)))
end
