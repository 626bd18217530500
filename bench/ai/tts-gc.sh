#!/usr/bin/env bash
# Where Gureum's TTS overhead goes: the same POST .../ai/tts load on a server with default GC settings and on one whose
# large-object threshold is raised to 2 MB (DOTNET_GCLOHThreshold), printing req/s, the server's CPU ms per request
# and the ticks its GC threads (".NET BGC", ".NET Server GC") used. The endpoint allocates several ~180-260 KB arrays
# per call (the samples list as it grows, ToArray, the byte copy): each lands on the large-object heap, whose
# collections are gen2 collections of the whole server heap. If the raised threshold (which keeps those arrays in
# gen0) removes the GC threads' share and lifts req/s, that churn is the overhead; the fix belongs in the endpoint
# (pooled buffers, or writing eSpeak's chunks straight to the response), not in a GC setting.
#
# Usage: bash bench/ai/tts-gc.sh        (after bash bench/ai/run.sh has built the server and written the inputs)
# Knobs: DURATION=10s ROUNDS=2 CACHE_DIR=/tmp/gureum-bench-ai
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-2}"
BODY="${CACHE_DIR:-/tmp/gureum-bench-ai}/inputs-v1/tts.json"
SERVER_DLL="src/Gureum.Server/bin/Release/net10.0/Gureum.Server.dll"
[[ -f "$BODY" && -f "$SERVER_DLL" ]] || { echo "run bench/ai/run.sh first (it builds the server and writes $BODY)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/gureum-bench-ai-gc.XXXXXX)"
PID=""
trap '[[ -n "$PID" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }   # utime + stime
gc_ticks() { # utime + stime of the server's GC threads
    local t sum=0
    for t in /proc/"$PID"/task/*; do
        [[ "$(cat "$t/comm" 2>/dev/null)" =~ BGC|Server\ GC ]] && sum=$((sum + $(ticks "$PID/task/${t##*/}")))
    done
    echo "$sum"
}

for mode in default loh-2MB; do
    port=$((20000 + RANDOM % 40000))
    admin="gur_$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'a-z2-7' | head -c 12)_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    env $([[ "$mode" == loh-2MB ]] && echo DOTNET_GCLOHThreshold=0x200000) GUREUM_BOOTSTRAP_KEY="$admin" ASPNETCORE_ENVIRONMENT=Production \
        dotnet "$SERVER_DLL" --data "$WORK/data-$mode" --urls "http://127.0.0.1:$port" \
        --Gureum:SiloPort=$((port + 1)) --Gureum:GatewayPort=$((port + 2)) >"$WORK/server-$mode.log" 2>&1 &
    PID=$!
    until curl -s -o /dev/null "http://127.0.0.1:$port/health/ready"; do kill -0 "$PID" || exit 1; sleep 0.25; done
    project="$(curl -s -H "Authorization: Bearer $admin" -H 'content-type: application/json' -d '{"name":"gc"}' "http://127.0.0.1:$port/v1/projects" | jq -r .id)"
    key="$(curl -s -H "Authorization: Bearer $admin" -H 'content-type: application/json' -d '{"name":"k","scopes":["ai"]}' \
        "http://127.0.0.1:$port/v1/projects/$project/keys" | jq -r .secret)"
    url="http://127.0.0.1:$port/v1/projects/$project/ai/tts"
    load() { BODY_FILE="$BODY" CONTENT_TYPE=application/json AUTH_KEY="$key" wrk -t1 "-c$1" "-d$2" -s bench/ai/post.lua "$url"; }
    load 1 8s >/dev/null   # warm-up: JIT tiering
    for c in 1 2; do
        for r in $(seq 1 "$ROUNDS"); do
            cpu0="$(ticks "$PID")"; gc0="$(gc_ticks)"
            rps="$(load "$c" "$DURATION" | awk '/^Requests\/sec:/ { print $2 }')"
            cpu1="$(ticks "$PID")"; gc1="$(gc_ticks)"
            awk -v m="$mode" -v c="$c" -v r="$rps" -v cpu=$((cpu1 - cpu0)) -v gc=$((gc1 - gc0)) -v d="${DURATION%s}" 'BEGIN {
                printf "%-8s C=%s  %7.1f req/s  server %.2f ms CPU per request  GC threads %4.1f%% of the server CPU\n",
                    m, c, r, 10 * cpu / (r * d), cpu ? 100 * gc / cpu : 0 }'
        done
    done
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
done
