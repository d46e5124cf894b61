-- wrk script of bench/leaderboard_api.py: every request comes from a random member (bearer token
-- from BENCH_TOKENS_FILE) at a random client address (X-Forwarded-For, read with API_NUM_PROXIES=1),
-- as production traffic does, so per-user and per-IP throttle buckets hold realistic histories.
-- With BENCH_MEAN_DELAY_MS set, each connection waits a random (exponential) think time before each
-- request, so arrivals are spread like independent clients at a steady rate instead of saturating
-- the server; wrk's latency excludes that wait. Prints p95 too (wrk's --latency stops at 50/75/90/99).
local tokens = {}
local mean_delay = tonumber(os.getenv("BENCH_MEAN_DELAY_MS") or "")

if mean_delay then
  delay = function()
    return -math.log(1 - math.random()) * mean_delay
  end
end

init = function(args)
  local path = os.getenv("BENCH_TOKENS_FILE")
  if path and path ~= "" then
    for line in io.lines(path) do tokens[#tokens + 1] = line end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local headers = {["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 7), math.random(0, 255),
    math.random(1, 254))}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  end
  return wrk.format("GET", nil, headers)
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
