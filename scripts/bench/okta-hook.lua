-- wrk script: Okta-shaped password-import calls for user<i>@example.com /
-- pw-<i> (the users `examples/overload.rs seed` makes), a fresh eventId per
-- call (no replay shortcut), counting answers that are not 200 + VERIFIED.
-- Env: PB_SECRET (Authorization value), PB_USERS (how many users).
local secret = os.getenv("PB_SECRET") or "bench"
local users = tonumber(os.getenv("PB_USERS") or "1000")
local counter = 0
bad = 0 -- global: done() reads it from each thread
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  counter = counter + 1
  local i = math.random(0, users - 1)
  local body = string.format(
    '{"eventId":"%08x%08x%d","eventType":"com.okta.user.credential.password.import",' ..
    '"data":{"context":{"request":{"ipAddress":"198.51.100.%d"},' ..
    '"credential":{"username":"user%d@example.com","password":"pw-%d"}}}}',
    math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), counter, i % 250, i, i)
  return wrk.format("POST", "/hooks/password-import",
    { ["Content-Type"] = "application/json", ["Authorization"] = secret }, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"VERIFIED"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local not_verified = 0
  for _, t in ipairs(threads) do
    not_verified = not_verified + (t:get("bad") or 0)
  end
  local secs = summary.duration / 1e6
  -- One machine-readable line: req/s, p50, p99, p99.9 (ms), errors, not VERIFIED.
  io.write(string.format("RESULT %.1f %.3f %.3f %.3f %d %d\n",
    summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    not_verified))
end
