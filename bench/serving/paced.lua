-- wrk script of bench/serving/run.sh for a fixed load below the peak (Debian has no wrk2): POST the same body as
-- post.lua, but each connection waits before each request. The waits are exponential (Poisson arrivals per
-- connection) with mean DELAY_MS, rounded stochastically to whole milliseconds (wrk's timer resolution) so that
-- the mean is kept. With C connections and latency L, the offered rate is about C / (DELAY_MS + L) per ms;
-- run.sh calibrates DELAY_MS with a short run and reports the rate wrk actually achieved.
--   BODY_FILE, AUTH_KEY as in post.lua;  DELAY_MS  mean wait before each request, in milliseconds
local file = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("AUTH_KEY")
if key ~= nil and key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
end
local mean = tonumber(os.getenv("DELAY_MS") or "0")
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("seed", counter)
end

function init(args)
    math.randomseed(os.time() * 1000 + (seed or 0))
end

function delay()
    local wait = -math.log(1 - math.random()) * mean
    return math.floor(wait + math.random())
end
