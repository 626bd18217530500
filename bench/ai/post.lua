-- wrk script of bench/ai/run.sh: POST the same body (binary-safe: an image, a WAV, or JSON) on every request.
--   BODY_FILE      the body (one of the benchmark's inputs)
--   CONTENT_TYPE   its Content-Type (image/png, audio/wav, application/json...)
--   AUTH_KEY       sent as "Authorization: Bearer AUTH_KEY"
local file = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = assert(os.getenv("CONTENT_TYPE"), "CONTENT_TYPE is not set")
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("AUTH_KEY"), "AUTH_KEY is not set")
