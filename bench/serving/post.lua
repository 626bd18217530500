-- wrk script of bench/serving/run.sh: POST the same JSON body on every request.
--   BODY_FILE   the body (written once by tool.py bodies)
--   AUTH_KEY    optional: sent as "Authorization: Bearer AUTH_KEY"
--   BINARY_HEADER_LENGTH  optional: the body is V2 binary tensor data whose JSON part is this long
local file = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
local binary = os.getenv("BINARY_HEADER_LENGTH")
if binary ~= nil and binary ~= "" then
    wrk.headers["Content-Type"] = "application/octet-stream"
    wrk.headers["Inference-Header-Content-Length"] = binary
end
local key = os.getenv("AUTH_KEY")
if key ~= nil and key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
end
