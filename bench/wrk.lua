-- wrk script for the benchmark: GET WRK_PATH (default /predict) with, unless WRK_QUERY=none,
-- a random but realistic prediction query per request; the auth cookie from SPENDCAST_TOKEN
-- (never written in a file); done() prints one line "WRK_JSON {...}" with counts, errors by
-- kind, duration, rps and latency percentiles in microseconds.
-- Usage: SPENDCAST_TOKEN=... wrk -t1 -c32 -d10s -s bench/wrk.lua http://127.0.0.1:8000

local educations = { "High%20School", "Bachelor", "Master", "PhD" }
local route = os.getenv("WRK_PATH") or "/predict"
local randomised = os.getenv("WRK_QUERY") ~= "none"
local token = os.getenv("SPENDCAST_TOKEN")

local pool_size = 4096 -- distinct queries, built once per thread and cycled through
local pool = {}
local next_index = 0

local function build_pool()
   for i = 1, pool_size do
      pool[i] = wrk.format("GET", string.format(
         "%s?education=%s&age=%d&income=%d",
         route,
         educations[math.random(1, #educations)],
         math.random(18, 80),
         math.random(12, 150) * 1000
      ))
   end
end

setup = function(thread)
   thread:set("seed", math.random(1, 2 ^ 30))
end

init = function(args)
   math.randomseed(seed or os.time())
   if token ~= nil and token ~= "" then
      wrk.headers["Cookie"] = "spendcast_token=" .. token
   end
   if randomised then
      build_pool()
   end
end

if randomised then
   -- Built requests are reused: formatting one per request would cost wrk more CPU than the
   -- server spends on it, and wrk shares the machine with the server it measures.
   request = function()
      next_index = next_index % pool_size + 1
      return pool[next_index]
   end
else
   wrk.path = route -- no request function: wrk sends one prebuilt request
end

done = function(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   local rps = 0
   if seconds > 0 then
      rps = summary.requests / seconds
   end
   io.write(string.format(
      'WRK_JSON {"requests":%d,"bytes":%d,"duration_us":%d,"rps":%.2f,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
      summary.requests, summary.bytes, summary.duration, rps,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max
   ))
end
