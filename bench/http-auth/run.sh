#!/usr/bin/env bash
# Benchmark: an authenticated GET /v1/projects/{id} on the Gureum server (the peer) against a bare
# ASP.NET Core GET /ping that does nothing (the limit), side by side on this machine, with wrk on
# loopback. Rounds alternate peer/limit; the medians of the rounds and their ratios are appended,
# with the exact command, to docs/benchmarks.md.
#
# Usage: bash bench/http-auth/run.sh
# Knobs (environment): ROUNDS=3 DURATION=10s WARMUP=5s THREADS=2 CONNECTIONS=64 QUIET_WAIT=120
#                      DOC=docs/benchmarks.md (where the section is appended)
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/http-auth/run.sh"
for knob in QUIET_WAIT CONNECTIONS THREADS WARMUP DURATION ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=${!knob} $invocation"
    fi
done
if [[ $# -gt 0 ]]; then
    invocation="$invocation $*"
fi

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
QUIET_WAIT="${QUIET_WAIT:-120}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"

log() { printf '[http-auth] %s\n' "$*" >&2; }
die() { printf '[http-auth] FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- tools
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    if ! apt-get install -y wrk >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y wrk >/dev/null
    fi
fi
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"

# ---------------------------------------------------------------------------------------------- build
build_server() {
    local attempt
    for attempt in 1 2 3; do
        if dotnet build -c Release -nologo -v quiet src/Gureum.Server/Gureum.Server.csproj >"$WORK/build-server.log" 2>&1; then
            return 0
        fi
        log "Gureum server build failed (attempt $attempt; the tree may be mid-edit), retrying in 60 s"
        tail -n 20 "$WORK/build-server.log" >&2
        sleep 60
    done
    die "the Gureum server does not build; see $WORK/build-server.log"
}

WORK="$(mktemp -d /tmp/gureum-bench-http-auth.XXXXXX)"
SERVER_PID=""
BARE_PID=""
cleanup() {
    local pid
    for pid in "$SERVER_PID" "$BARE_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    # Keep the server logs (bench/results/ is git-ignored); drop the data directory.
    mkdir -p "$ROOT/bench/results/http-auth"
    cp "$WORK"/*.log "$ROOT/bench/results/http-auth/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building (Release)"
build_server
dotnet build -c Release -nologo -v quiet bench/BareHost/BareHost.csproj >"$WORK/build-bare.log" 2>&1 \
    || { tail -n 20 "$WORK/build-bare.log" >&2; die "BareHost does not build"; }

SERVER_DLL="src/Gureum.Server/bin/Release/net10.0/Gureum.Server.dll"
BARE_DLL="bench/BareHost/bin/Release/net10.0/BareHost.dll"
[[ -f "$SERVER_DLL" ]] || die "$SERVER_DLL not found after the build"
[[ -f "$BARE_DLL" ]] || die "$BARE_DLL not found after the build"

# ---------------------------------------------------------------------------------------------- ports
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
HTTP_PORT="$(free_port)"
SILO_PORT="$(free_port)"
GATEWAY_PORT="$(free_port)"
BARE_PORT="$(free_port)"
GUREUM="http://127.0.0.1:$HTTP_PORT"
BARE="http://127.0.0.1:$BARE_PORT"

# A key in the server's own format: gur_<12 base32 chars>_<32 random bytes, base64url>.
random_key() {
    local id secret
    id="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'a-z2-7')"
    secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    printf 'gur_%s_%s' "${id:0:12}" "$secret"
}
KEY="$(random_key)"
[[ "$KEY" =~ ^gur_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$ ]] || die "generated key has the wrong shape"

wait_for() { # url name pid log
    local url="$1" name="$2" pid="$3" logfile="$4" i
    for i in $(seq 1 240); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" == "200" ]]; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logfile" >&2; die "$name exited before it was ready"; }
        sleep 0.25
    done
    tail -n 30 "$logfile" >&2
    die "$name not ready after 60 s ($url)"
}

# ---------------------------------------------------------------------------------------------- start
log "starting Gureum on $GUREUM (silo $SILO_PORT, gateway $GATEWAY_PORT)"
GUREUM_BOOTSTRAP_KEY="$KEY" ASPNETCORE_ENVIRONMENT=Production \
    dotnet "$SERVER_DLL" --data "$WORK/data" --urls "$GUREUM" \
    --Gureum:SiloPort="$SILO_PORT" --Gureum:GatewayPort="$GATEWAY_PORT" \
    >"$WORK/gureum-server.log" 2>&1 &
SERVER_PID=$!

log "starting BareHost on $BARE"
ASPNETCORE_ENVIRONMENT=Production dotnet "$BARE_DLL" --urls "$BARE" >"$WORK/bare-host.log" 2>&1 &
BARE_PID=$!

wait_for "$GUREUM/health/ready" "Gureum server" "$SERVER_PID" "$WORK/gureum-server.log"
wait_for "$BARE/ping" "BareHost" "$BARE_PID" "$WORK/bare-host.log"

# ---------------------------------------------------------------------------------------------- fixture
created="$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d '{"name":"bench"}' "$GUREUM/v1/projects")"
status="${created##*$'\n'}"
body="${created%$'\n'*}"
[[ "$status" == "201" ]] || die "POST /v1/projects answered $status: $body"
PROJECT_ID="$(printf '%s' "$body" | sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
[[ -n "$PROJECT_ID" ]] || die "no \"id\" in the POST /v1/projects answer: $body"
TARGET="$GUREUM/v1/projects/$PROJECT_ID"
log "project $PROJECT_ID created"

# The request under test must really be authenticated and succeed, and fail without the key.
got="$(curl -s -o "$WORK/get.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$TARGET")"
[[ "$got" == "200" ]] || die "authenticated GET $TARGET answered $got: $(cat "$WORK/get.json")"
grep -q "\"$PROJECT_ID\"" "$WORK/get.json" || die "GET $TARGET did not return the project: $(cat "$WORK/get.json")"
anon="$(curl -s -o /dev/null -w '%{http_code}' "$TARGET")"
[[ "$anon" == "401" ]] || die "unauthenticated GET $TARGET answered $anon, expected 401: the benchmark would not measure auth"

# ---------------------------------------------------------------------------------------------- wrk
WRK_GUREUM="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H \"Authorization: Bearer \$KEY\" $GUREUM/v1/projects/\$ID"
WRK_BARE="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $BARE/ping"

to_ms() { # "3.21ms" | "850.00us" | "1.02s" -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else { print "NaN" } }'
}

# CPU accounting, in clock ticks, to see how much of the machine something else used during a round.
system_ticks() { # "busy total" over all cores, from /proc/stat. irq/softirq (mostly the loopback traffic
    # of the benchmark itself, charged to no process) count neither as busy nor as other work.
    awk '/^cpu / { busy = $2 + $3 + $4 + $9; print busy, busy + $5 + $6 + $7 + $8; exit }' /proc/stat
}
process_ticks() { # utime + stime of one process (fields after the ")" so a command name with spaces is fine)
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n "$stat" ]] || { echo 0; return; }
    awk '{ print $12 + $13 }' <<<"${stat##*) }"
}
CHILD_TICKS=0
read_children_ticks() { # sets CHILD_TICKS to cutime + cstime of this (sub)shell: the CPU of the children it has
    # waited for. No command substitution here: that would fork and read the wrong process.
    local stat fields
    read -r stat <"/proc/$BASHPID/stat"
    read -r -a fields <<<"${stat##*) }"
    CHILD_TICKS=$((fields[13] + fields[14]))
}

# run_wrk <name> <duration> <wrk args...>: prints "req/s p99ms other%", where other% is the share of the
# machine's CPU used by anything but the two servers and wrk during the round. Fails on any non-2xx/3xx.
run_wrk() {
    local name="$1" duration="$2" out rps p99 non2xx errors sys0 sys1 srv0 srv1 wrk0 wrk1 other
    shift 2
    out="$WORK/wrk-$name.txt"
    sys0="$(system_ticks)"
    srv0=$(( $(process_ticks "$SERVER_PID") + $(process_ticks "$BARE_PID") ))
    read_children_ticks; wrk0="$CHILD_TICKS"
    wrk "-t$THREADS" "-c$CONNECTIONS" "-d$duration" --latency "$@" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($name)"; }
    read_children_ticks; wrk1="$CHILD_TICKS"
    srv1=$(( $(process_ticks "$SERVER_PID") + $(process_ticks "$BARE_PID") ))
    sys1="$(system_ticks)"
    other="$(awk -v s0="$sys0" -v s1="$sys1" -v srv=$((srv1 - srv0)) -v w=$((wrk1 - wrk0)) 'BEGIN {
        split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
        o = total > 0 ? 100 * (busy - srv - w) / total : 0; printf "%.1f", o < 0 ? 0 : o }')"
    cat "$out" >>"$WORK/wrk-all.log"
    non2xx="$(sed -n 's/.*Non-2xx or 3xx responses:[[:space:]]*\([0-9]*\).*/\1/p' "$out")"
    if [[ -n "$non2xx" ]]; then
        cat "$out" >&2
        die "$name: $non2xx non-2xx/3xx responses"
    fi
    errors="$(sed -n 's/.*Socket errors:[[:space:]]*\(.*\)/\1/p' "$out")"
    [[ -z "$errors" ]] || log "$name: socket errors: $errors"
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {print $2}' "$out")"
    [[ -n "$rps" && -n "$p99" ]] || { cat "$out" >&2; die "could not parse wrk output ($name)"; }
    printf '%s %s %s\n' "$rps" "$(to_ms "$p99")" "$other"
}

median() { # numbers on stdin -> median
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# A shared machine: wait (up to QUIET_WAIT seconds) for other work, a build say, to finish first.
wait_for_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) t0 t1 busy
    while true; do
        t0="$(system_ticks)"; sleep 2; t1="$(system_ticks)"
        busy="$(awk -v a="$t0" -v b="$t1" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }')"
        (( busy < 20 )) && return 0
        if (( SECONDS >= deadline )); then
            log "the machine is still $busy% busy after ${QUIET_WAIT} s; measuring anyway (see the other-CPU column)"
            return 0
        fi
        log "the machine is $busy% busy with other work; waiting for it to go quiet"
    done
}
wait_for_quiet
log "warm-up ($WARMUP each)"
run_wrk warmup-gureum "$WARMUP" -H "Authorization: Bearer $KEY" "$TARGET" >/dev/null
run_wrk warmup-bare "$WARMUP" "$BARE/ping" >/dev/null

declare -a G_RPS G_P99 G_OTHER B_RPS B_P99 B_OTHER
for round in $(seq 1 "$ROUNDS"); do
    wait_for_quiet
    result="$(run_wrk "gureum-$round" "$DURATION" -H "Authorization: Bearer $KEY" "$TARGET")"
    read -r rps p99 other <<<"$result"
    G_RPS+=("$rps"); G_P99+=("$p99"); G_OTHER+=("$other")
    log "round $round  Gureum  $rps req/s  p99 $p99 ms  (other processes: $other% CPU)"
    wait_for_quiet
    result="$(run_wrk "bare-$round" "$DURATION" "$BARE/ping")"
    read -r rps p99 other <<<"$result"
    B_RPS+=("$rps"); B_P99+=("$p99"); B_OTHER+=("$other")
    log "round $round  bare    $rps req/s  p99 $p99 ms  (other processes: $other% CPU)"
done

g_rps_med="$(printf '%s\n' "${G_RPS[@]}" | median)"
g_p99_med="$(printf '%s\n' "${G_P99[@]}" | median)"
b_rps_med="$(printf '%s\n' "${B_RPS[@]}" | median)"
b_p99_med="$(printf '%s\n' "${B_P99[@]}" | median)"
rps_ratio="$(awk -v a="$g_rps_med" -v b="$b_rps_med" 'BEGIN { printf "%.2f", a / b }')"
p99_ratio="$(awk -v a="$g_p99_med" -v b="$b_p99_med" 'BEGIN { printf "%.2f", a / b }')"

# Both servers must still be alive, and the Gureum log free of errors, for the numbers to count.
kill -0 "$SERVER_PID" 2>/dev/null || die "the Gureum server died during the run"
kill -0 "$BARE_PID" 2>/dev/null || die "BareHost died during the run"
server_errors="$(grep -cE '"LogLevel":"(Error|Critical)"' "$WORK/gureum-server.log" || true)"
server_warnings="$(grep -cE '"LogLevel":"Warning"' "$WORK/gureum-server.log" || true)"

log "median  Gureum $g_rps_med req/s p99 $g_p99_med ms | bare $b_rps_med req/s p99 $b_p99_med ms"
log "ratio   req/s $rps_ratio  p99 $p99_ratio"
log "server log: $server_errors error(s), $server_warnings warning(s)"

# ---------------------------------------------------------------------------------------------- record
fmt_int() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
fmt_ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }

if [[ ! -s "$DOC" && "$DOC" != /dev/null ]]; then
    mkdir -p "$(dirname "$DOC")"
    cat >"$DOC" <<'HEADER'
# Benchmarks

Each benchmark in `bench/` measures one Gureum path (the peer) and, in the same run on the same
machine, the cheapest thing that could stand in its place (the limit), then appends its numbers here
with the exact command that produced them. Nothing below is edited by hand.

Machines are noisy: each side is run several times, alternating, and the median of the rounds is
quoted, with the ratio peer / limit. Compare ratios across machines, absolute numbers only within one
section. See `bench/README.md` for what each benchmark does and how to run it.
HEADER
fi

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty=""
if [[ -n "$(git status --porcelain -- src/Gureum.Server Directory.Build.props Directory.Packages.props 2>/dev/null || true)" ]]; then
    dirty=" (src/Gureum.Server had uncommitted changes: the server measured is the working tree, not exactly this commit)"
fi
wrk_version="$(wrk -v 2>&1 | head -n 1 | sed 's/[[:space:]]*Copyright.*//' || true)"
dotnet_version="$(dotnet --version 2>/dev/null || echo unknown)"

{
    echo
    echo "## http-auth: authenticated \`GET /v1/projects/{id}\` vs bare \`GET /ping\` — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Machine: $(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $dotnet_version; ${wrk_version:-wrk}"
    echo "- Commit: \`$commit\`$dirty"
    echo "- Command: \`$invocation\`"
    echo "- Peer: \`$WRK_GUREUM\` (Gureum server, Release, SQLite, \`ASPNETCORE_ENVIRONMENT=Production\`, admin key in \`Authorization: Bearer\`)"
    echo "- Limit: \`$WRK_BARE\` (\`bench/BareHost\`, Release)"
    echo "- $ROUNDS round(s) alternating Gureum / bare after a $WARMUP warm-up of each; wrk and the server share the same $(nproc) cores."
    echo
    echo "| round | Gureum req/s | Gureum p99 (ms) | other CPU | bare req/s | bare p99 (ms) | other CPU |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for i in "${!G_RPS[@]}"; do
        echo "| $((i + 1)) | $(fmt_int "${G_RPS[$i]}") | $(fmt_ms "${G_P99[$i]}") | ${G_OTHER[$i]}% | $(fmt_int "${B_RPS[$i]}") | $(fmt_ms "${B_P99[$i]}") | ${B_OTHER[$i]}% |"
    done
    echo "| **median** | **$(fmt_int "$g_rps_med")** | **$(fmt_ms "$g_p99_med")** | | **$(fmt_int "$b_rps_med")** | **$(fmt_ms "$b_p99_med")** | |"
    echo
    echo "_other CPU_: share of the machine's CPU used during the round by processes other than the two servers and wrk (a build or test run elsewhere); rounds with a high value are suspect."
    echo
    echo "Ratio Gureum / bare: **$rps_ratio× req/s**, **$p99_ratio× p99**. Server log during the run: $server_errors error(s), $server_warnings warning(s); no non-2xx answers."
} >>"$DOC"

log "appended to ${DOC#"$ROOT"/}"
