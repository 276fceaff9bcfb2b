-- e2e.lua: wrk script for bench/e2e.sh. Every request is POST /orders with
-- `Authorization: DPoP <token>` and a DPoP proof never sent before, read from
-- the file the e2e server wrote (first line the token, then one proof per
-- line). If the run outlasts the proofs, they are reused from the start: the
-- ztkit server then refuses those as replays (wrk counts them as non-2xx) and
-- done() says so.
--
--   wrk -t1 -c2 -d10s --latency -s e2e.lua https://127.0.0.1:PORT/orders -- requests.txt

local token
local proofs = {}
-- Globals, so that done() can read them with thread:get.
n, sent = 0, 0

function init(args)
  local path = args[1] or "requests.txt"
  local f = assert(io.open(path, "r"))
  token = f:read("*l")
  for line in f:lines() do
    n = n + 1
    proofs[n] = line
  end
  f:close()
  assert(token and n > 0, "no token or proofs in " .. path)
end

function request()
  sent = sent + 1
  local headers = {
    ["Authorization"] = "DPoP " .. token,
    ["DPoP"] = proofs[(sent - 1) % n + 1],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/orders", headers, '{"cart":"cart_7","payment":"pm_card_visa"}')
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local s, m = t:get("sent"), t:get("n")
    local reused = 0
    if s > m then reused = s - m end
    io.write(string.format("proofs: %d sent, %d available, %d reused\n", s, m, reused))
  end
  io.write(string.format("latency percentiles (us): p50 %d, p90 %d, p99 %d, p99.9 %d, max %d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
