#!/usr/bin/env bash
# Benchmark: the ready-made AI APIs (OCR, TTS, STT, translation, faces). Per API and concurrency, three sides on the
# same inputs in the same run, alternating:
#   limit   bench/AiLimit: the engine of src/Gureum.AI called in-process in a closed loop, one engine instance per
#           worker thread as the server's pool holds them, no HTTP (what the engine itself can do)
#   Gureum  POST /v1/projects/{p}/ai/{ocr,tts,stt,translate,faces} on the real server (Production, SQLite, fresh
#           data directory, an `ai`-scoped key), loaded by wrk with bench/ai/post.lua; every answer must be 2xx
#   cli     the engine's own command-line tool spawned per request (what a quick wrapper would do): tesseract,
#           espeak-ng, pocketsphinx_continuous, apertium; for faces a one-shot python3-opencv script (OpenCV has
#           no face CLI). For OCR also `cli-omp1`: tesseract with OMP_THREAD_LIMIT=1 (its OpenMP threads otherwise
#           fight each other for the cores)
# then a soak: SOAK_CALLS mixed calls (every API plus bad inputs) through the server, its RSS sampled every SOAK_EVERY
# calls; any 5xx fails the run. Medians, ratios, goals (Gureum >= 3x the CLI on OCR and TTS, >= 80% of the limit;
# the soak's second half grows RSS < 5%) and the exact command are appended to docs/benchmarks.md.
#
# Usage: bash bench/ai/run.sh
# Knobs (environment): ROUNDS=3 DURATION=10s WARMUP=5s LIMIT_WARMUP=3 CONCURRENCY="1 N" (N: OCR's pool size here)
#                      BENCHES="ocr-line ocr-para tts stt translate faces" SIDES="limit gureum cli"
#                      SOAK_CALLS=10000 SOAK_EVERY=500 SOAK_CLIENTS=2 QUIET_WAIT=120
#                      CACHE_DIR=/tmp/gureum-bench-ai DOC=docs/benchmarks.md
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/ai/run.sh"
for knob in DOC CACHE_DIR QUIET_WAIT SOAK_CLIENTS SOAK_EVERY SOAK_CALLS SIDES BENCHES CONCURRENCY LIMIT_WARMUP WARMUP DURATION ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=\"${!knob}\" $invocation"
    fi
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# The server's OCR and faces pools hold one engine per core (at most 4): the default concurrency is 1 and that.
POOL=$(( $(nproc) < 4 ? $(nproc) : 4 ))
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
LIMIT_WARMUP="${LIMIT_WARMUP:-3}"
CONCURRENCY="${CONCURRENCY:-$( (( POOL > 1 )) && echo "1 $POOL" || echo 1)}"
BENCHES="${BENCHES:-ocr-line ocr-para tts stt translate faces}"
SIDES="${SIDES:-limit gureum cli}"
SOAK_CALLS="${SOAK_CALLS:-10000}"
SOAK_EVERY="${SOAK_EVERY:-500}"
SOAK_CLIENTS="${SOAK_CLIENTS:-2}"
QUIET_WAIT="${QUIET_WAIT:-120}"
CACHE_DIR="${CACHE_DIR:-/tmp/gureum-bench-ai}"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"
RESULTS="$ROOT/bench/results/ai"
HERE="$ROOT/bench/ai"
PY=/usr/bin/python3
INPUTS="$CACHE_DIR/inputs-v1"

log() { printf '[ai] %s\n' "$*" >&2; }
die() { printf '[ai] FAILED: %s\n' "$*" >&2; exit 1; }

has_side() { [[ " $SIDES " == *" $1 "* ]]; }
for s in $SIDES; do [[ "$s" =~ ^(limit|gureum|cli)$ ]] || die "SIDES may hold limit, gureum and cli, not '$s'"; done
for b in $BENCHES; do [[ "$b" =~ ^(ocr-line|ocr-para|tts|stt|translate|faces)$ ]] || die "unknown benchmark '$b' in BENCHES"; done
for c in $CONCURRENCY; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY must be positive integers, not '$c'"; done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$SOAK_CALLS" =~ ^[0-9]+$ && "$SOAK_EVERY" =~ ^[1-9][0-9]*$ ]] || die "SOAK_CALLS and SOAK_EVERY must be integers"
seconds_of() { # "10s" | "10" | "1m" -> seconds
    case "$1" in *s) echo "${1%s}" ;; *m) awk -v x="${1%m}" 'BEGIN { print x * 60 }' ;; *) echo "$1" ;; esac
}
DURATION_S="$(seconds_of "$DURATION")"
MAX_C=0
for c in $CONCURRENCY; do (( c > MAX_C )) && MAX_C=$c; done

# What each benchmark sends: api, the limit's and CLI's input, the HTTP body and its content type.
api_of() { case "$1" in ocr-*) echo ocr ;; *) echo "$1" ;; esac; }
input_of() {
    case "$1" in
        ocr-line) echo line.png ;; ocr-para) echo para.png ;; tts) echo tts.txt ;; stt) echo speech.wav ;;
        translate) echo translate.txt ;; faces) echo face.jpg ;;
    esac
}
body_of() { case "$1" in tts) echo tts.json ;; translate) echo translate.json ;; *) input_of "$1" ;; esac; }
type_of() {
    case "$1" in
        ocr-*) echo image/png ;; tts | translate) echo application/json ;; stt) echo audio/wav ;; faces) echo image/jpeg ;;
    esac
}
# The sides of one benchmark, in the order they alternate. OCR's CLI twice: as installed, and with OpenMP off.
sides_of() {
    local s=()
    has_side limit && s+=(limit)
    has_side gureum && s+=(gureum)
    if has_side cli; then
        s+=(cli)
        [[ "$1" == ocr-* ]] && s+=(cli-omp1)
    fi
    echo "${s[@]}"
}

# ---------------------------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y "$@" >/dev/null
    fi
}
command -v wrk >/dev/null 2>&1 || { log "installing wrk"; apt_install wrk; }
command -v jq >/dev/null 2>&1 || { log "installing jq"; apt_install jq; }
command -v pango-view >/dev/null 2>&1 || { log "installing pango1.0-tools"; apt_install pango1.0-tools; }
command -v flite >/dev/null 2>&1 || { log "installing flite"; apt_install flite; }
fc-list 2>/dev/null | grep -q DejaVuSans || { log "installing fonts-dejavu-core"; apt_install fonts-dejavu-core; }
if has_side cli; then
    for tool in tesseract:tesseract-ocr espeak-ng:espeak-ng pocketsphinx_continuous:pocketsphinx apertium:apertium; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || { log "installing ${tool#*:}"; apt_install "${tool#*:}"; }
    done
    "$PY" -c 'import cv2' 2>/dev/null || { log "installing python3-opencv"; apt_install python3-opencv; }
fi
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"

WORK="$(mktemp -d /tmp/gureum-bench-ai-run.XXXXXX)"
mkdir -p "$CACHE_DIR" "$RESULTS"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    # Keep logs, wrk output and results (bench/results/ is git-ignored); drop the data directory.
    rm -f "$RESULTS"/*.log "$RESULTS"/*.txt "$RESULTS"/*.jsonl "$RESULTS"/*.json
    cp "$WORK"/*.log "$WORK"/*.txt "$WORK"/*.jsonl "$WORK"/*.json "$RESULTS/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------- build
build() { # build <csproj> <name>
    local attempt
    for attempt in 1 2 3; do
        if dotnet build -c Release -nologo -v quiet "$1" >"$WORK/build-$2.log" 2>&1; then
            return 0
        fi
        log "$2 build failed (attempt $attempt; the tree may be mid-edit), retrying in 60 s"
        tail -n 20 "$WORK/build-$2.log" >&2
        sleep 60
    done
    die "$2 does not build; see bench/results/ai/build-$2.log"
}
commit_before="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "building bench/AiLimit (Release; builds src/Gureum.AI from the working tree)"
build bench/AiLimit/AiLimit.csproj ailimit
LIMIT_DLL="bench/AiLimit/bin/Release/net10.0/AiLimit.dll"
[[ -f "$LIMIT_DLL" ]] || die "$LIMIT_DLL not found after the build"
if has_side gureum || (( SOAK_CALLS > 0 )); then
    log "building src/Gureum.Server (Release)"
    build src/Gureum.Server/Gureum.Server.csproj server
    SERVER_DLL="src/Gureum.Server/bin/Release/net10.0/Gureum.Server.dll"
    [[ -f "$SERVER_DLL" ]] || die "$SERVER_DLL not found after the build"
fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ "$commit" == "$commit_before" ]] || commit="$commit (HEAD moved from $commit_before during the build)"
changed="$(git status --porcelain -- src bench/AiLimit bench/ai Directory.Build.props Directory.Packages.props 2>/dev/null | awk '{ print $NF }' | paste -sd, - | sed 's/,/, /g' || true)"
[[ -z "$changed" ]] || commit="$commit (with uncommitted changes to $changed: what ran is the working tree, not exactly this commit)"

# ---------------------------------------------------------------------------------------------- inputs
bash "$HERE/inputs.sh" "$INPUTS" || die "bench/ai/inputs.sh failed"

# ---------------------------------------------------------------------------------------------- server
USED_PORTS=" "
free_port() {
    local port
    while true; do
        port=$((20000 + RANDOM % 40000))
        [[ "$USED_PORTS" == *" $port "* ]] && continue
        if ! ss -Htan 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$port\$"; then
            USED_PORTS="$USED_PORTS$port "
            echo "$port"
            return 0
        fi
    done
}
random_key() { # a key in the server's own format: gur_<12 base32 chars>_<32 random bytes, base64url>
    local id secret
    id="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'a-z2-7')"
    secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    printf 'gur_%s_%s' "${id:0:12}" "$secret"
}
STATUS=""
api() { # api KEY METHOD PATH [curl args...]: the answer in $WORK/last.json, the status in $STATUS
    local key="$1" method="$2" path="$3"
    shift 3
    STATUS="$(curl -s -o "$WORK/last.json" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $key" "$@" "$GUREUM$path" || true)"
}
expect() { [[ " $1 " == *" $STATUS "* ]] || die "$2 answered $STATUS: $(head -c 600 "$WORK/last.json")"; }

if has_side gureum || (( SOAK_CALLS > 0 )); then
    HTTP_PORT="$(free_port)"
    SILO_PORT="$(free_port)"
    GATEWAY_PORT="$(free_port)"
    GUREUM="http://127.0.0.1:$HTTP_PORT"
    ADMIN_KEY="$(random_key)"
    log "starting Gureum on $GUREUM (silo $SILO_PORT, gateway $GATEWAY_PORT)"
    GUREUM_BOOTSTRAP_KEY="$ADMIN_KEY" ASPNETCORE_ENVIRONMENT=Production \
        dotnet "$SERVER_DLL" --data "$WORK/data" --urls "$GUREUM" \
        --Gureum:SiloPort="$SILO_PORT" --Gureum:GatewayPort="$GATEWAY_PORT" \
        >"$WORK/gureum-server.log" 2>&1 &
    SERVER_PID=$!
    for i in $(seq 1 240); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' "$GUREUM/health/ready" || true)" =~ ^(200|503)$ ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$WORK/gureum-server.log" >&2; die "the server exited before it was ready"; }
        sleep 0.25
    done
    api "$ADMIN_KEY" POST /v1/projects -H 'content-type: application/json' -d '{"name":"bench"}'
    expect 201 "POST /v1/projects"
    PROJECT_ID="$(jq -r '.id' "$WORK/last.json")"
    # The calls go with a project key holding only the `ai` scope, as an application would.
    api "$ADMIN_KEY" POST "/v1/projects/$PROJECT_ID/keys" -H 'content-type: application/json' -d '{"name":"bench","scopes":["ai"]}'
    expect 201 "creating an ai key"
    AI_KEY="$(jq -r '.secret' "$WORK/last.json")"
    AI_URL="$GUREUM/v1/projects/$PROJECT_ID/ai"
    # Engines load in the background at start-up; wait until every pool says ready (translation pools start lazily).
    for i in $(seq 1 240); do
        api "$AI_KEY" GET "/v1/projects/$PROJECT_ID/ai/engines"
        expect 200 "GET .../ai/engines"
        not_ready="$(jq -r '[.[] | select(.name != "translate" and .status != "ready") | "\(.name): \(.status) \(.reason // "")"] | join("; ")' "$WORK/last.json")"
        [[ -z "$not_ready" ]] && break
        (( i == 240 )) && die "engines not ready after 120 s: $not_ready"
        sleep 0.5
    done
    cp "$WORK/last.json" "$WORK/engines.json"
    log "engines: $(jq -c '[.[] | {(.name): "\(.status)/\(.workers)"}] | add' "$WORK/engines.json")"
fi

# ---------------------------------------------------------------------------------------------- checks
# Every side must read the same thing before anything is timed: the limit's answer is the reference; Gureum must
# give exactly it (same engine, same settings); the CLI's is recorded and compared (its defaults differ a little).
gureum_answer() { # gureum_answer <bench>: the part of the answer that matters, one line
    local b="$1" out="$WORK/check-$1-gureum.out"
    STATUS="$(curl -s -o "$out" -w '%{http_code}' -H "Authorization: Bearer $AI_KEY" -H "Content-Type: $(type_of "$b")" \
        --data-binary "@$INPUTS/$(body_of "$b")" "$AI_URL/$(api_of "$b")" || true)"
    [[ "$STATUS" == 200 ]] || die "Gureum $b answered $STATUS: $(head -c 600 "$out")"
    case "$b" in
        ocr-*) jq -r '.text' "$out" ;;
        tts) echo "$(stat -c %s "$out") bytes" ;;
        stt) jq -r '.text' "$out" ;;
        translate) jq -r '.results[0].translations[0].text' "$out" ;;
        faces) jq -c '[.faces[].box | [.x, .y, .width, .height]]' "$out" ;;
    esac
}
: >"$WORK/checks.jsonl"
for b in $BENCHES; do
    a="$(api_of "$b")"
    dotnet "$LIMIT_DLL" limit --api "$a" --input "$INPUTS/$(input_of "$b")" --clients 1 --check 1 \
        >"$WORK/check-$b-limit.json" 2>"$WORK/check-$b-limit.log" || { cat "$WORK/check-$b-limit.log" >&2; die "the limit failed on $b"; }
    ref="$(jq -r '.sample' "$WORK/check-$b-limit.json")"
    g=null; c=null
    if has_side gureum; then
        answer="$(gureum_answer "$b")"
        [[ "$answer" == "$ref" ]] || die "Gureum's $b answer differs from the engine's own: '$answer' vs '$ref'"
        g="$(jq -Rn --arg v "$answer" '$v')"
    fi
    if has_side cli; then
        dotnet "$LIMIT_DLL" cli --api "$a" --input "$INPUTS/$(input_of "$b")" --clients 1 --check 1 \
            --faces-script "$HERE/faces_cli.py" >"$WORK/check-$b-cli.json" 2>"$WORK/check-$b-cli.log" \
            || { cat "$WORK/check-$b-cli.log" >&2; die "the CLI failed on $b"; }
        c="$(jq '.sample' "$WORK/check-$b-cli.json")"
    fi
    jq -cn --arg bench "$b" --arg limit "$ref" --argjson gureum "$g" --argjson cli "$c" '$ARGS.named' >>"$WORK/checks.jsonl"
    log "check $b: engine '$(head -c 80 <<<"$ref" | tr '\n' ' ')'$(has_side gureum && echo ", Gureum the same")"
done

# ---------------------------------------------------------------------------------------------- measuring
to_ms() { # "3.21ms" | "850.00us" | "1.02s" -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.4f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.4f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.4f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.4f", v * 1000 }
        else { print "NaN" } }'
}
system_ticks() { # "busy total" over all cores, from /proc/stat. irq/softirq (mostly the loopback traffic of the
    # benchmark itself, charged to no process) count neither as busy nor as other work.
    awk '/^cpu / { busy = $2 + $3 + $4 + $9; print busy, busy + $5 + $6 + $7 + $8; exit }' /proc/stat
}
server_ticks() { # utime + stime of the server and all its descendants (the Apertium stages are its children)
    [[ -n "$SERVER_PID" ]] || { echo 0; return; }
    ps -e -o pid=,ppid= 2>/dev/null | awk -v root="$SERVER_PID" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            mine[root] = 1
            do { grew = 0; for (i in pids) { p = pids[i]; if (!(p in mine) && (parent[p] in mine)) { mine[p] = 1; grew = 1 } } } while (grew)
            for (p in mine) print p }' | while read -r pid; do
        stat="$(cat "/proc/$pid/stat" 2>/dev/null || true)"
        [[ -n "$stat" ]] && awk '{ print $12 + $13 }' <<<"${stat##*) }"
    done | awk '{ s += $1 } END { print s + 0 }'
}
CHILD_TICKS=0
read_children_ticks() { # cutime + cstime of this shell: the CPU of the children it has waited for (wrk, AiLimit and the
    # tools AiLimit spawned and waited for)
    local stat fields
    read -r stat <"/proc/$BASHPID/stat"
    read -r -a fields <<<"${stat##*) }"
    CHILD_TICKS=$((fields[13] + fields[14]))
}
SYS0="" SRV0=0 OWN0=0
cpu_begin() { SYS0="$(system_ticks)"; SRV0="$(server_ticks)"; read_children_ticks; OWN0="$CHILD_TICKS"; }
cpu_other() { # cpu_other <children ticks now>: prints "other server own": the share of the machine's CPU used since
    # cpu_begin by anything but the server, wrk and AiLimit with its tools (in %), and the cores used by the server
    # (with its children) and by this shell's children (wrk, or AiLimit and its tools)
    local sys1 srv1
    CHILD_TICKS="$1"
    sys1="$(system_ticks)"
    srv1="$(server_ticks)"
    awk -v s0="$SYS0" -v s1="$sys1" -v srv=$((srv1 - SRV0)) -v own=$((CHILD_TICKS - OWN0)) -v n="$(nproc)" 'BEGIN {
        split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
        o = total > 0 ? 100 * (busy - srv - own) / total : 0; s = total > 0 ? n * srv / total : 0; w = total > 0 ? n * own / total : 0
        printf "%.1f %.3f %.3f", (o < 0 ? 0 : o), s, w }'
}
wait_for_quiet() { # a shared machine: wait (up to QUIET_WAIT seconds) for other work, a build say, to finish
    local deadline=$((SECONDS + QUIET_WAIT)) t0 t1 s0 s1 busy
    while true; do
        t0="$(system_ticks)"; s0="$(server_ticks)"; sleep 2; t1="$(system_ticks)"; s1="$(server_ticks)"
        busy="$(awk -v a="$t0" -v b="$t1" -v srv=$((s1 - s0)) 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
            printf "%.0f", (t > 0 ? 100 * (y[1] - x[1] - srv) / t : 0) }')"
        (( busy < 20 )) && return 0
        if (( SECONDS >= deadline )); then
            log "the machine is still $busy% busy after ${QUIET_WAIT} s; measuring anyway (see the other-CPU column)"
            return 0
        fi
        log "the machine is $busy% busy with other work; waiting for it to go quiet"
    done
}

# run_wrk <tag> <bench> <connections> <duration>: prints "rps p50 p99 other {serverCores, wrkCores}". Any non-2xx
# answer or timeout fails.
run_wrk() {
    local tag="$1" b="$2" conns="$3" duration="$4" out="$WORK/wrk-$1.txt" threads rps p50 p99 non2xx errors other
    threads=$(( conns < 2 ? 1 : 2 ))
    cpu_begin
    BODY_FILE="$INPUTS/$(body_of "$b")" CONTENT_TYPE="$(type_of "$b")" AUTH_KEY="$AI_KEY" \
        wrk "-t$threads" "-c$conns" "-d$duration" --timeout 30s --latency -s "$HERE/post.lua" "$AI_URL/$(api_of "$b")" \
        >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($tag)"; }
    read_children_ticks
    read -r other srv_cores wrk_cores <<<"$(cpu_other "$CHILD_TICKS")"
    cat "$out" >>"$WORK/wrk-all.txt"
    non2xx="$(sed -n 's/.*Non-2xx or 3xx responses:[[:space:]]*\([0-9]*\).*/\1/p' "$out")"
    [[ -z "$non2xx" ]] || { cat "$out" >&2; die "$tag: $non2xx non-2xx/3xx responses"; }
    errors="$(sed -n 's/.*Socket errors:[[:space:]]*\(.*\)/\1/p' "$out")"
    if [[ -n "$errors" ]]; then
        [[ "$errors" =~ timeout\ 0$ ]] || { cat "$out" >&2; die "$tag: requests timed out ($errors)"; }
        log "$tag: socket errors: $errors"
    fi
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(awk '$1 == "50%" {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {print $2}' "$out")"
    [[ -n "$rps" && -n "$p50" && -n "$p99" ]] || { cat "$out" >&2; die "could not parse wrk output ($tag)"; }
    printf '%s %s %s %s {"serverCores":%s,"wrkCores":%s}\n' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$other" "$srv_cores" "$wrk_cores"
}

# run_ailimit <tag> <mode> <bench> <clients> [env...]: a fresh AiLimit process; prints "rps p50 p99 other {cpuCores...}".
run_ailimit() {
    local tag="$1" mode="$2" b="$3" c="$4" other out="$WORK/$2-$1.json"
    shift 4
    cpu_begin
    env "$@" dotnet "$LIMIT_DLL" "$mode" --api "$(api_of "$b")" --input "$INPUTS/$(input_of "$b")" --clients "$c" \
        --duration "$DURATION_S" --warmup "$LIMIT_WARMUP" --faces-script "$HERE/faces_cli.py" \
        >"$out" 2>"$WORK/$mode-$tag.log" || { cat "$WORK/$mode-$tag.log" >&2; die "AiLimit $mode failed ($tag)"; }
    read_children_ticks
    read -r other _ _ <<<"$(cpu_other "$CHILD_TICKS")"
    jq -r --arg other "$other" '"\(.requestsPerSec) \(.p50Ms) \(.p99Ms) \($other) \({cpuCores, workers, requests} | tostring)"' "$out"
}

measure() { # measure <bench> <side> <connections> <tag>
    case "$2" in
        limit) run_ailimit "$4" limit "$1" "$3" ;;
        gureum) run_wrk "$4" "$1" "$3" "$DURATION" ;;
        cli) run_ailimit "$4" cli "$1" "$3" ;;
        cli-omp1) run_ailimit "$4" cli "$1" "$3" OMP_THREAD_LIMIT=1 ;;
    esac
}

: >"$WORK/results.jsonl"
if has_side gureum; then
    log "warm-up ($WARMUP per API at $MAX_C connections)"
    wait_for_quiet
    for b in $BENCHES; do run_wrk "warmup-$b" "$b" "$MAX_C" "$WARMUP" >/dev/null; done
fi
for round in $(seq 1 "$ROUNDS"); do
    for b in $BENCHES; do
        for c in $CONCURRENCY; do
            for side in $(sides_of "$b"); do
                wait_for_quiet
                tag="$b-$side-c$c-r$round"
                result="$(measure "$b" "$side" "$c" "$tag")"
                read -r rps p50 p99 other extra <<<"$result"
                printf '{"bench":"%s","side":"%s","concurrency":%s,"round":%s,"rps":%s,"p50":%s,"p99":%s,"other":%s,"extra":%s}\n' \
                    "$b" "$side" "$c" "$round" "$rps" "$p50" "$p99" "$other" "$extra" >>"$WORK/results.jsonl"
                log "round $round  $(printf '%-9s %-8s c=%-2s' "$b" "$side" "$c") $(printf '%9.2f' "$rps") req/s  p50 $(printf '%8.2f' "$p50") ms  p99 $(printf '%8.2f' "$p99") ms  (other processes: $other% CPU)"
            done
        done
    done
done

# ---------------------------------------------------------------------------------------------- soak
echo '{}' >"$WORK/soak.json"
if (( SOAK_CALLS > 0 )); then
    wait_for_quiet
    log "soak: $SOAK_CALLS mixed calls from $SOAK_CLIENTS clients, the server's RSS every $SOAK_EVERY calls"
    cpu_begin
    soak_rc=0
    dotnet "$LIMIT_DLL" soak --url "$AI_URL" --key "$AI_KEY" --inputs "$INPUTS" --pid "$SERVER_PID" \
        --calls "$SOAK_CALLS" --every "$SOAK_EVERY" --clients "$SOAK_CLIENTS" >"$WORK/soak.json" 2>"$WORK/soak.log" || soak_rc=$?
    read_children_ticks
    read -r soak_other _ _ <<<"$(cpu_other "$CHILD_TICKS")"
    (( soak_rc == 0 )) || { cat "$WORK/soak.log" >&2; die "the soak failed (see above); the server log is in bench/results/ai/"; }
    jq --arg other "$soak_other" '. + {other: ($other | tonumber)}' "$WORK/soak.json" >"$WORK/soak.tmp" && mv "$WORK/soak.tmp" "$WORK/soak.json"
    log "soak: $(jq -c '{calls, seconds: (.seconds | floor), rssKb: [.samples[0].rssKb, .samples[-1].rssKb]}' "$WORK/soak.json")"
fi

# ---------------------------------------------------------------------------------------------- record
server_errors=0
server_warnings=0
if [[ -n "$SERVER_PID" ]]; then
    kill -0 "$SERVER_PID" 2>/dev/null || die "the Gureum server died during the run"
    server_errors="$(grep -cE '"LogLevel":"(Error|Critical)"|\bfail: ' "$WORK/gureum-server.log" || true)"
    server_warnings="$(grep -cE '"LogLevel":"Warning"|\bwarn: ' "$WORK/gureum-server.log" || true)"
fi
cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
wrk_version="$(wrk -v 2>&1 | head -n 1 | sed 's/[[:space:]]*Copyright.*//' || true)"
pkg() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }
jq -n \
    --arg machine "$(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $(dotnet --version 2>/dev/null || echo unknown); ${wrk_version:-wrk}" \
    --arg commit "$commit" --arg command "$invocation" --arg sides "$SIDES" --arg benches "$BENCHES" \
    --arg concurrency "$CONCURRENCY" --arg duration "$DURATION" --arg warmup "$WARMUP" --argjson rounds "$ROUNDS" \
    --argjson limitWarmup "$LIMIT_WARMUP" --argjson maxC "$MAX_C" --argjson pool "$POOL" \
    --argjson serverErrors "${server_errors:-0}" --argjson serverWarnings "${server_warnings:-0}" \
    --arg tesseract "$(pkg tesseract-ocr)" --arg espeak "$(pkg espeak-ng)" --arg pocketsphinx "$(pkg pocketsphinx)" \
    --arg apertium "$(pkg apertium)" --arg apertiumEngSpa "$(pkg apertium-eng-spa)" --arg opencvPy "$(pkg python3-opencv)" \
    --arg inputs "$(cd "$INPUTS" && for f in line.png para.png tts.txt speech.wav translate.txt face.jpg; do printf '%s:%sB ' "$f" "$(stat -c %s "$f")"; done)" \
    --argjson engines "$(cat "$WORK/engines.json" 2>/dev/null || echo null)" \
    --argjson soakCalls "$SOAK_CALLS" --argjson soakEvery "$SOAK_EVERY" \
    '$ARGS.named' >"$WORK/meta.json"
"$PY" "$HERE/report.py" --meta "$WORK/meta.json" --results "$WORK/results.jsonl" --checks "$WORK/checks.jsonl" \
    --soak "$WORK/soak.json" --doc "$DOC" >"$WORK/summary.txt" || die "report.py failed"
cat "$WORK/summary.txt" >&2
log "appended to ${DOC#"$ROOT"/}; raw wrk output, AiLimit JSON lines and logs in bench/results/ai/"
