#!/usr/bin/env bash
# Benchmark: the cost of usage metering on the predict path (issue 9: "requests/s with and without metering, same run;
# goal under 5%"). Two Gureum servers from the same build run side by side on loopback, each with its own SQLite data
# directory: one metered (the default) and one started with --Gureum:Metering:Enabled=false. Each serves the MLP
# (../shared/testdata/models/mlp.onnx) on an endpoint with batching; wrk posts one row per request to
# POST /v1/projects/{p}/endpoints/mlp/predict on one server at a time, alternating the servers within each round and
# swapping which goes first every round. The medians of req/s, p50 and p99 per server and concurrency, the overhead
# 1 - metered/unmetered, the goal (overhead < 5% at C = 64), a check that the metered server counted every answered
# prediction (and the unmetered one none) and the exact command are appended to docs/benchmarks.md.
#
# Usage: bash bench/metering/run.sh
# Knobs (environment): ROUNDS=5 DURATION=10s WARMUP=5s CONCURRENCY="16 64" QUIET_WAIT=120 DOC=docs/benchmarks.md
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/metering/run.sh"
for knob in DOC QUIET_WAIT CONCURRENCY WARMUP DURATION ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=\"${!knob}\" $invocation"
    fi
done

ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
CONCURRENCY="${CONCURRENCY:-16 64}"
QUIET_WAIT="${QUIET_WAIT:-120}"
MAX_BATCH=32
MAX_DELAY_MS=1
GOAL_PCT=5           # metering may cost at most this share of the unmetered server's requests/s, at the highest C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"
RESULTS="$ROOT/bench/results/metering"
MODELS_DIR="$ROOT/../shared/testdata/models"
ADULT_CSV="$ROOT/../shared/testdata/datasets/adult-train.csv"
PY=/usr/bin/python3
HERE="$ROOT/bench/metering"
SERVING="$ROOT/bench/serving"   # post.lua and tool.py (request bodies, answer check) are shared with bench/serving
SIDES=(metered unmetered)

log() { printf '[metering] %s\n' "$*" >&2; }
die() { printf '[metering] FAILED: %s\n' "$*" >&2; exit 1; }

for c in $CONCURRENCY; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY must be positive integers, not '$c'"; done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
MAX_C=0
for c in $CONCURRENCY; do (( c > MAX_C )) && MAX_C=$c; done

# ---------------------------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y "$@" >/dev/null
    fi
}
command -v wrk >/dev/null 2>&1 || { log "installing wrk"; apt_install wrk; }
command -v jq >/dev/null 2>&1 || { log "installing jq"; apt_install jq; }
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"
[[ -x "$PY" ]] || die "$PY is required (bench/serving/tool.py writes the request body and checks the answer)"
[[ -f "$MODELS_DIR/mlp.onnx" ]] || die "$MODELS_DIR/mlp.onnx not found (the shared test data sits next to the repository)"

WORK="$(mktemp -d /tmp/gureum-bench-metering-run.XXXXXX)"
mkdir -p "$RESULTS"
declare -A PID=() URL=() PROJECT=() PKEY=()
cleanup() {
    local side pid
    for side in "${!PID[@]}"; do
        pid="${PID[$side]}"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    # Keep logs, wrk output and results (bench/results/ is git-ignored); drop the data directories and bodies.
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
    die "$2 does not build; see bench/results/metering/build-$2.log"
}
commit_before="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "building src/Gureum.Server (Release)"
build src/Gureum.Server/Gureum.Server.csproj server
SERVER_DLL="src/Gureum.Server/bin/Release/net10.0/Gureum.Server.dll"
[[ -f "$SERVER_DLL" ]] || die "$SERVER_DLL not found after the build"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ "$commit" == "$commit_before" ]] || commit="$commit (HEAD moved from $commit_before during the build)"
changed="$(git status --porcelain -- src bench/metering bench/serving/post.lua bench/serving/tool.py Directory.Build.props Directory.Packages.props 2>/dev/null | awk '{ print $NF }' | paste -sd, - | sed 's/,/, /g' || true)"
[[ -z "$changed" ]] || commit="$commit (with uncommitted changes to $changed: what ran is the working tree, not exactly this commit)"

# The body bench/serving sends to the MLP's /v1 predict: {"inputs":{"features":[[32 floats]]}}, the reference's first row.
"$PY" "$SERVING/tool.py" bodies "$MODELS_DIR" "$ADULT_CSV" "$WORK/bodies" >"$WORK/bodies.log" || die "tool.py bodies failed"
BODY="$WORK/bodies/mlp-v1.json"
BODY_BYTES="$(stat -c %s "$BODY")"

# ---------------------------------------------------------------------------------------------- servers
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
wait_for() { # url name pid log [seconds]
    local url="$1" name="$2" pid="$3" logfile="$4" limit="${5:-90}" i
    for i in $(seq 1 $((limit * 4))); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" == "200" ]]; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logfile" >&2; die "$name exited before it was ready"; }
        sleep 0.25
    done
    tail -n 30 "$logfile" >&2
    die "$name not ready after $limit s ($url)"
}
random_key() { # a key in the server's own format: gur_<12 base32 chars>_<32 random bytes, base64url>
    local id secret
    id="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'a-z2-7')"
    secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    printf 'gur_%s_%s' "${id:0:12}" "$secret"
}
ADMIN_KEY="$(random_key)"   # each server has its own database; both bootstrap the same admin key
STATUS=""
api() { # api <side> METHOD PATH [curl args...]: the answer in $WORK/last.json, the status in $STATUS
    local side="$1" method="$2" path="$3"
    shift 3
    STATUS="$(curl -s -o "$WORK/last.json" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $ADMIN_KEY" "$@" "${URL[$side]}$path" || true)"
}
expect() { # expect <statuses> <what>
    [[ " $1 " == *" $STATUS "* ]] || die "$2 answered $STATUS: $(head -c 600 "$WORK/last.json")"
}
predict_url() { echo "${URL[$1]}/v1/projects/${PROJECT[$1]}/endpoints/mlp/predict"; }

# Metering is the only difference between the two servers.
extra_args() { [[ "$1" == unmetered ]] && echo "--Gureum:Metering:Enabled=false" || true; }
start_server() { # start_server <side>
    local side="$1" http silo gateway
    http="$(free_port)"; silo="$(free_port)"; gateway="$(free_port)"
    URL[$side]="http://127.0.0.1:$http"
    log "starting the $side server on ${URL[$side]} (silo $silo, gateway $gateway) $(extra_args "$side")"
    # shellcheck disable=SC2046
    GUREUM_BOOTSTRAP_KEY="$ADMIN_KEY" ASPNETCORE_ENVIRONMENT=Production \
        dotnet "$SERVER_DLL" --data "$WORK/data-$side" --urls "${URL[$side]}" \
        --Gureum:SiloPort="$silo" --Gureum:GatewayPort="$gateway" $(extra_args "$side") \
        >"$WORK/server-$side.log" 2>&1 &
    PID[$side]=$!
}
setup_server() { # setup_server <side>: project, predict key, model mlp v1, endpoint mlp (batching); waits until ready
    local side="$1" i status
    wait_for "${URL[$side]}/health/ready" "the $side server" "${PID[$side]}" "$WORK/server-$side.log"
    api "$side" POST /v1/projects -H 'content-type: application/json' -d '{"name":"bench"}'
    expect 201 "$side: POST /v1/projects"
    PROJECT[$side]="$(jq -r '.id' "$WORK/last.json")"
    api "$side" POST "/v1/projects/${PROJECT[$side]}/keys" -H 'content-type: application/json' -d '{"name":"bench","scopes":["predict"]}'
    expect 201 "$side: creating a predict key"
    PKEY[$side]="$(jq -r '.secret' "$WORK/last.json")"
    [[ -n "${PKEY[$side]}" && "${PKEY[$side]}" != null ]] || die "$side: no secret in the key answer"
    api "$side" POST "/v1/projects/${PROJECT[$side]}/models" -H 'content-type: application/json' -d '{"name":"mlp"}'
    expect 201 "$side: registering model mlp"
    api "$side" POST "/v1/projects/${PROJECT[$side]}/models/mlp/versions" -F "file=@$MODELS_DIR/mlp.onnx"
    expect 201 "$side: uploading mlp.onnx"
    [[ "$(jq -r '.version' "$WORK/last.json")" == 1 ]] || die "$side: the upload of mlp is not version 1: $(head -c 300 "$WORK/last.json")"
    api "$side" POST "/v1/projects/${PROJECT[$side]}/endpoints" -H 'content-type: application/json' \
        -d "{\"name\":\"mlp\",\"deployments\":[{\"model\":\"mlp\",\"version\":1,\"weight\":100}],\"batching\":$BATCHING}"
    expect "201 202" "$side: deploying endpoint mlp"
    for i in $(seq 1 600); do
        api "$side" GET "/v1/projects/${PROJECT[$side]}/endpoints/mlp"
        expect 200 "$side: GET endpoint mlp"
        status="$(jq -r '.status // empty' "$WORK/last.json")"
        case "$status" in
            ready) break ;;
            failed) die "$side: endpoint mlp failed: $(jq -r '.reason // .' "$WORK/last.json")" ;;
        esac
        kill -0 "${PID[$side]}" 2>/dev/null || die "the $side server died while endpoint mlp was deploying"
        sleep 0.5
    done
    [[ "$status" == ready ]] || die "$side: endpoint mlp not ready after 300 s (last status '$status')"
    log "$side: project ${PROJECT[$side]}, endpoint mlp ready"
}
declare -A CHECKS=()
check_predict() { # check_predict <side>: one prediction with the benchmark's body answers 200 with the reference output
    local side="$1" s out
    s="$(curl -s -o "$WORK/check-$side.json" -w '%{http_code}' -H "Authorization: Bearer ${PKEY[$side]}" \
        -H 'content-type: application/json' --data-binary "@$BODY" "$(predict_url "$side")" || true)"
    [[ "$s" == 200 ]] || die "$side: predict answered $s: $(head -c 600 "$WORK/check-$side.json")"
    CHECKS[$side]=$(( ${CHECKS[$side]:-0} + 1 ))
    out="$("$PY" "$SERVING/tool.py" check-tensor "$WORK/check-$side.json" v1 "$MODELS_DIR/mlp.reference.json" 2>&1)" \
        || die "$side: the predict answer is wrong: $out"
    log "check $side: $out"
}
USAGE_FROM="$(date -u '+%Y-%m-%dT%H:00:00Z')"   # the servers are fresh: every usage row is from this run
usage_predictions() { # usage_predictions <side>: prints "<predict:mlp predictions> <rows in the report>"
    api "$1" GET "/v1/projects/${PROJECT[$1]}/usage?groupBy=service&from=$USAGE_FROM"
    expect 200 "$1: GET usage"
    cp "$WORK/last.json" "$WORK/usage-$1.json"
    jq -r '[([.rows[] | select(.service == "predict:mlp" and .meter == "predictions") | .quantity] | add // 0), (.rows | length)] | @tsv' "$WORK/last.json"
}

BATCHING="{\"maxBatchSize\":$MAX_BATCH,\"maxDelayMs\":$MAX_DELAY_MS}"
# Both start together (start-up is the slow part), then are set up one after the other.
for side in "${SIDES[@]}"; do start_server "$side"; done
for side in "${SIDES[@]}"; do setup_server "$side"; done
for side in "${SIDES[@]}"; do check_predict "$side"; done
# The switch works before anything is timed: the check is counted on the metered server, nothing on the other.
sleep 0.5
read -r n rows <<<"$(usage_predictions metered)"
[[ "$n" == 1 ]] || die "the metered server counted $n predictions after one check request: $(head -c 600 "$WORK/usage-metered.json")"
read -r n rows <<<"$(usage_predictions unmetered)"
[[ "$rows" == 0 ]] || die "the unmetered server reports usage: $(head -c 600 "$WORK/usage-unmetered.json") (is Gureum:Metering:Enabled=false honoured?)"
log "usage after the checks: metered 1 prediction, unmetered none"

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
process_ticks() { # utime + stime of one process (fields after the ")" so a command name with spaces is fine)
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n "$stat" ]] || { echo 0; return; }
    awk '{ print $12 + $13 }' <<<"${stat##*) }"
}
servers_ticks() { echo $(( $(process_ticks "${PID[metered]}") + $(process_ticks "${PID[unmetered]}") )); }
CHILD_TICKS=0
read_children_ticks() { # cutime + cstime of this shell: the CPU of the children it has waited for (wrk)
    local stat fields
    read -r stat <"/proc/$BASHPID/stat"
    read -r -a fields <<<"${stat##*) }"
    CHILD_TICKS=$((fields[13] + fields[14]))
}
wait_for_quiet() { # a shared machine: wait (up to QUIET_WAIT seconds) for other work, a build say, to finish
    local deadline=$((SECONDS + QUIET_WAIT)) t0 t1 s0 s1 busy
    while true; do
        t0="$(system_ticks)"; s0="$(servers_ticks)"; sleep 2; t1="$(system_ticks)"; s1="$(servers_ticks)"
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
TICK_HZ="$(getconf CLK_TCK)"

# run_wrk <side> <tag> <duration> <connections>: prints "rps p50 p99 other requests server_us_per_request".
# other: the share of the machine's CPU used by anything but the two servers and wrk; server_us_per_request: CPU of the
# loaded server per answered request. Fails on any non-2xx/3xx answer and on timeouts; other socket errors are logged.
declare -A ANSWERED=() IN_FLIGHT=()   # per side: requests wrk counted as answered, and the most that were in flight at its stops
run_wrk() {
    local side="$1" tag="$2" duration="$3" conns="$4"
    local out="$WORK/wrk-$tag.txt" threads rps p50 p99 non2xx errors other requests sys0 sys1 srv0 srv1 own0 own1 mine0 mine1 cpu
    threads=$(( conns < 2 ? 1 : 2 ))
    sys0="$(system_ticks)"; srv0="$(servers_ticks)"; mine0="$(process_ticks "${PID[$side]}")"
    read_children_ticks; own0="$CHILD_TICKS"
    BODY_FILE="$BODY" AUTH_KEY="${PKEY[$side]}" wrk "-t$threads" "-c$conns" "-d$duration" --timeout 30s --latency \
        -s "$SERVING/post.lua" "$(predict_url "$side")" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($tag)"; }
    read_children_ticks; own1="$CHILD_TICKS"
    srv1="$(servers_ticks)"; mine1="$(process_ticks "${PID[$side]}")"; sys1="$(system_ticks)"
    other="$(awk -v s0="$sys0" -v s1="$sys1" -v srv=$((srv1 - srv0)) -v own=$((own1 - own0)) 'BEGIN {
        split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
        o = total > 0 ? 100 * (busy - srv - own) / total : 0; printf "%.1f", o < 0 ? 0 : o }')"
    { echo "=== $tag"; cat "$out"; } >>"$WORK/wrk-all.txt"
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
    requests="$(awk '/ requests in / {print $1; exit}' "$out")"
    [[ -n "$rps" && -n "$p50" && -n "$p99" && "$requests" =~ ^[0-9]+$ ]] || { cat "$out" >&2; die "could not parse wrk output ($tag)"; }
    cpu="$(awk -v t=$((mine1 - mine0)) -v hz="$TICK_HZ" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? 1e6 * t / hz / n : 0) }')"
    printf '%s %s %s %s %s %s\n' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$other" "$requests" "$cpu"
}
# measure <side> <tag> <duration> <connections>: run_wrk in this shell (ANSWERED/IN_FLIGHT must survive), result in $RESULT
RESULT=""
measure() {
    local requests
    run_wrk "$@" >"$WORK/result.txt"
    RESULT="$(cat "$WORK/result.txt")"
    read -r _ _ _ _ requests _ <<<"$RESULT"
    ANSWERED[$1]=$(( ${ANSWERED[$1]:-0} + requests ))
    IN_FLIGHT[$1]=$(( ${IN_FLIGHT[$1]:-0} + $4 ))
}

log "warm-up ($WARMUP per server at $MAX_C connections)"
wait_for_quiet
for side in "${SIDES[@]}"; do measure "$side" "warmup-$side" "$WARMUP" "$MAX_C"; done

: >"$WORK/results.jsonl"
for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 == 1 )); then order=(metered unmetered); else order=(unmetered metered); fi
    for c in $CONCURRENCY; do
        for side in "${order[@]}"; do
            wait_for_quiet
            measure "$side" "$side-c$c-r$round" "$DURATION" "$c"
            read -r rps p50 p99 other requests cpu <<<"$RESULT"
            printf '{"side":"%s","concurrency":%s,"round":%s,"rps":%s,"p50":%s,"p99":%s,"other":%s,"requests":%s,"cpuUsPerRequest":%s}\n' \
                "$side" "$c" "$round" "$rps" "$p50" "$p99" "$other" "$requests" "$cpu" >>"$WORK/results.jsonl"
            log "round $round  $(printf '%-9s c=%-3s' "$side" "$c") $(printf '%9.1f' "$rps") req/s  p50 $(printf '%7.3f' "$p50") ms  p99 $(printf '%7.3f' "$p99") ms  server $(printf '%6.1f' "$cpu") µs CPU/req  (other processes: $other% CPU)"
        done
    done
done

# ---------------------------------------------------------------------------------------------- usage
# Every answered prediction is committed to usage before its answer leaves, so the metered server must count at least
# what wrk and the checks got answered; requests in flight when a wrk run stopped were answered to a closed socket but
# still counted, so it may count up to one per connection per run more. The unmetered server must count nothing.
for side in "${SIDES[@]}"; do kill -0 "${PID[$side]}" 2>/dev/null || die "the $side server died during the run"; done
sleep 1
read -r metered_counted _ <<<"$(usage_predictions metered)"
read -r _ unmetered_rows <<<"$(usage_predictions unmetered)"
metered_answered=$(( ${ANSWERED[metered]} + ${CHECKS[metered]} ))
metered_ok=no
awk -v n="$metered_counted" -v a="$metered_answered" -v f="${IN_FLIGHT[metered]}" 'BEGIN { exit !(n >= a && n <= a + f) }' && metered_ok=yes
unmetered_ok=no
[[ "$unmetered_rows" == 0 ]] && unmetered_ok=yes
log "usage: metered server counted $metered_counted predictions; wrk and the checks got $metered_answered answered (+ at most ${IN_FLIGHT[metered]} in flight at wrk's stops): $metered_ok"
log "usage: unmetered server reports $unmetered_rows usage row(s): $unmetered_ok"

# ---------------------------------------------------------------------------------------------- record
server_log_counts() { # server_log_counts <side>: "errors warnings"
    local f="$WORK/server-$1.log"
    printf '%s %s' "$(grep -cE '"LogLevel":"(Error|Critical)"|\bfail: |\bcrit: ' "$f" || true)" "$(grep -cE '"LogLevel":"Warning"|\bwarn: ' "$f" || true)"
}
read -r metered_errors metered_warnings <<<"$(server_log_counts metered)"
read -r unmetered_errors unmetered_warnings <<<"$(server_log_counts unmetered)"

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
wrk_version="$(wrk -v 2>&1 | head -n 1 | sed 's/[[:space:]]*Copyright.*//' || true)"
jq -n \
    --arg machine "$(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $(dotnet --version 2>/dev/null || echo unknown); ${wrk_version:-wrk}" \
    --arg commit "$commit" --arg command "$invocation" --arg concurrency "$CONCURRENCY" --arg duration "$DURATION" \
    --arg warmup "$WARMUP" --argjson rounds "$ROUNDS" --argjson maxC "$MAX_C" --argjson goalPct "$GOAL_PCT" \
    --arg batching "$BATCHING" --argjson bodyBytes "$BODY_BYTES" --argjson cores "$(nproc)" \
    --argjson meteredCounted "$metered_counted" --argjson meteredAnswered "$metered_answered" \
    --argjson meteredChecks "${CHECKS[metered]}" --argjson meteredInFlight "${IN_FLIGHT[metered]}" --arg meteredOk "$metered_ok" \
    --argjson unmeteredRows "$unmetered_rows" --argjson unmeteredAnswered "$(( ${ANSWERED[unmetered]} + ${CHECKS[unmetered]} ))" \
    --arg unmeteredOk "$unmetered_ok" \
    --argjson meteredErrors "${metered_errors:-0}" --argjson meteredWarnings "${metered_warnings:-0}" \
    --argjson unmeteredErrors "${unmetered_errors:-0}" --argjson unmeteredWarnings "${unmetered_warnings:-0}" \
    '$ARGS.named' >"$WORK/meta.json"
"$PY" "$HERE/report.py" --meta "$WORK/meta.json" --results "$WORK/results.jsonl" --doc "$DOC" >"$WORK/summary.txt" \
    || die "report.py failed"
cat "$WORK/summary.txt" >&2
log "appended to ${DOC#"$ROOT"/}; raw wrk output and server logs in bench/results/metering/"
[[ "$metered_ok" == yes && "$unmetered_ok" == yes ]] || die "the usage check failed (see the section's usage table)"
