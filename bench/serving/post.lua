-- wrk script of bench/serving/run.sh: POST the same JSON body on every request.
--   BODY_FILE   the body (written once by tool.py bodies)
--   AUTH_KEY    optional: sent as "Authorization: Bearer AUTH_KEY"
local file = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("AUTH_KEY")
if key ~= nil and key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
end
