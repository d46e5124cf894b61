-- wrk script of bench/mixed_load.py: the API's real traffic, one random request of the mix at a time.
--
-- Run with as many wrk threads as connections (-tN -cN): each thread then has one request in flight, so
-- its response() belongs to the request() just made and the script can time every request per endpoint
-- (wrk's own histogram mixes them). LuaJIT's ffi reads the monotonic clock, as wrk does for its latency.
-- Input files are in BENCH_DATA_DIR (written by mixed_load.py); each thread writes its samples to
-- BENCH_OUT.<thread number>: one line "<endpoint> <status> <microseconds>" per response.
-- With BENCH_MEAN_DELAY_MS, each connection waits a random exponential think time before a request
-- (a steady arrival rate instead of a saturated server); the wait is not part of the latency.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

-- endpoint name, weight (share of requests, in %)
local MIX = {
  {"leaderboard", 30},
  {"bare_view", 10},
  {"me", 12},
  {"history", 10},
  {"balance", 12},
  {"credit_request", 8},
  {"approve", 8},
  {"score_events", 10},
}

local data_dir = os.getenv("BENCH_DATA_DIR")
local mean_delay = tonumber(os.getenv("BENCH_MEAN_DELAY_MS") or "")

local function lines(name)
  local found = {}
  for line in io.lines(data_dir .. "/" .. name) do found[#found + 1] = line end
  return found
end

local threads = {}
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  threads[#threads + 1] = thread
end

local members, moderators, user_ids, pending, webhooks, cumulative, out
local current, started = nil, 0

init = function(args)
  members = lines("member_tokens.txt")
  moderators = lines("moderator_tokens.txt")
  user_ids = lines("user_ids.txt")
  pending = lines("pending_ids.txt")
  webhooks = {}
  for _, line in ipairs(lines("webhooks.txt")) do
    local key, signature, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    webhooks[#webhooks + 1] = {key, signature, body}
  end
  cumulative = {}
  local total = 0
  for _, entry in ipairs(MIX) do
    total = total + entry[2]
    cumulative[#cumulative + 1] = {entry[1], total}
  end
  math.randomseed(os.time() + thread_number * 7919)
  out = io.open(os.getenv("BENCH_OUT") .. "." .. thread_number, "w")
  -- wrk never closes the threads' Lua states: line buffering keeps every sample.
  out:setvbuf("line")
end

if mean_delay then
  delay = function()
    return -math.log(1 - math.random()) * mean_delay
  end
end

local function pick()
  local roll = math.random() * cumulative[#cumulative][2]
  for _, entry in ipairs(cumulative) do
    if roll < entry[2] then return entry[1] end
  end
  return cumulative[#cumulative][1]
end

local function client_ip()
  return string.format("10.%d.%d.%d", math.random(0, 7), math.random(0, 255), math.random(1, 254))
end

local function member_headers()
  return {
    ["Authorization"] = "Bearer " .. members[math.random(#members)],
    ["X-Forwarded-For"] = client_ip(),
  }
end

request = function()
  current = pick()
  local method, path, headers, body = "GET", nil, member_headers(), nil
  if current == "leaderboard" then
    path = "/api/leaderboard?limit=10"
  elseif current == "bare_view" then
    path = "/bench/bare-leaderboard"
    headers = {["X-Forwarded-For"] = client_ip()}
  elseif current == "me" then
    path = "/api/me"
  elseif current == "history" then
    path = "/api/leaderboard/users/" .. user_ids[math.random(#user_ids)] .. "/history?days=30"
  elseif current == "balance" then
    path = "/api/credits/balance"
  elseif current == "credit_request" then
    method, path = "POST", "/api/credit-requests"
    headers["Content-Type"] = "application/json"
    body = string.format('{"amount": %d, "reason": "Hosted a bench load session"}', math.random(10, 900))
  elseif current == "approve" then
    method = "POST"
    path = "/api/admin/credit-requests/" .. pending[math.random(#pending)] .. "/approve"
    headers = {
      ["Authorization"] = "Bearer " .. moderators[math.random(#moderators)],
      ["X-Forwarded-For"] = client_ip(),
      ["Content-Type"] = "application/json",
    }
    body = '{"note": "bench"}'
  else -- score_events
    local hook = webhooks[math.random(#webhooks)]
    method, path = "POST", "/api/score-events"
    headers = {
      ["Authorization"] = "Bearer " .. hook[1],
      ["X-DealScale-Signature"] = hook[2],
      ["X-Forwarded-For"] = client_ip(),
      ["Content-Type"] = "application/json",
    }
    body = hook[3]
  end
  started = now_us()
  return wrk.format(method, path, headers, body)
end

response = function(status, headers, body)
  out:write(string.format("%s %d %.0f\n", current, status, now_us() - started))
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d socket_errors=%d timeouts=%d seconds=%.3f\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout, seconds))
end
