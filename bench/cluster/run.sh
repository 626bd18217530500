#!/usr/bin/env bash
# Benchmark: cluster mode (issue 11) — "prediction throughput of 1, 2 and 3 nodes behind a simple round-robin front
# (nginx from apt), in docs/benchmarks.md — on this 2-core machine the figure is about correctness of the scaling path,
# so also report per-node CPU use."
#
# A throwaway PostgreSQL cluster (initdb/pg_ctl, as bin/gureum's start_postgres does) holds the Orleans membership and
# the metadata of three Gureum nodes started with --cluster, each with its own data directory, all sharing one
# artifact directory. Through node 1 the benchmark creates a project, a predict key, model `mlp` version 1 from
# ../shared/testdata/models/mlp.onnx and endpoint `mlp` with batching (as bench/serving); every node must report the
# endpoint ready and answer the reference output. One nginx (nginx-light from apt, run from a generated config in a
# temporary directory, not /etc) listens on three ports, each a round-robin upstream over the first N nodes (N = 1, 2, 3,
# keep-alive connections to the nodes). wrk posts one MLP row per request to /v1/projects/{p}/endpoints/mlp/predict:
#   direct-1  straight to node 1 (the front's own baseline: what nginx costs)
#   nginx-1   nginx -> node 1
#   nginx-2   nginx -> nodes 1, 2
#   nginx-3   nginx -> nodes 1, 2, 3
# For every run it records req/s, p50, p99, non-2xx answers (must be 0: the run fails otherwise), the CPU each node,
# nginx, PostgreSQL and wrk used during the run (CPU time deltas from /proc/PID/stat, in % of one core), the share
# of the machine used by other processes, and each node's count of answered predictions (the endpoint's
# serving[].requests, GET on each node before and after) to show the load really spread. Rounds alternate the order of
# the sides (ascending in odd rounds, descending in even ones); medians and the exact command go to docs/benchmarks.md.
#
# Usage: bash bench/cluster/run.sh
# Knobs (environment): ROUNDS=3 DURATION=10s WARMUP=5s THREADS=2 CONNECTIONS=64 NGINX_WORKERS=1 QUIET_WAIT=120
#                      DOC=docs/benchmarks.md
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/cluster/run.sh"
for knob in DOC QUIET_WAIT NGINX_WORKERS CONNECTIONS THREADS WARMUP DURATION ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=\"${!knob}\" $invocation"
    fi
done

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
QUIET_WAIT="${QUIET_WAIT:-120}"
NODES=3
MAX_BATCH=32
MAX_DELAY_MS=1
SIDES=(direct-1 nginx-1 nginx-2 nginx-3)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"
RESULTS="$ROOT/bench/results/cluster"
MODELS_DIR="$ROOT/../shared/testdata/models"
ADULT_CSV="$ROOT/../shared/testdata/datasets/adult-train.csv"
PY=/usr/bin/python3
HERE="$ROOT/bench/cluster"
SERVING="$ROOT/bench/serving"   # post.lua and tool.py (request body, answer check) are shared with bench/serving
HZ="$(getconf CLK_TCK)"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] FAILED: %s\n' "$*" >&2; exit 1; }

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ && "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS and CONNECTIONS must be positive integers"
[[ "$NGINX_WORKERS" =~ ^([1-9][0-9]*|auto)$ ]] || die "NGINX_WORKERS must be a positive integer or auto"

# ---------------------------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y "$@" >/dev/null
    fi
}
command -v wrk >/dev/null 2>&1 || { log "installing wrk"; apt_install wrk; }
command -v jq >/dev/null 2>&1 || { log "installing jq"; apt_install jq; }
NGINX="$(command -v nginx || true)"
[[ -n "$NGINX" ]] || { log "installing nginx-light"; apt_install nginx-light; NGINX="$(command -v nginx || echo /usr/sbin/nginx)"; }
[[ -x "$NGINX" ]] || die "nginx not found after installing nginx-light"
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"
[[ -x "$PY" ]] || die "$PY is required (bench/serving/tool.py writes the request body and checks the answer)"
[[ -f "$MODELS_DIR/mlp.onnx" ]] || die "$MODELS_DIR/mlp.onnx not found (the shared test data sits next to the repository)"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)"

WORK="$(mktemp -d /tmp/gureum-bench-cluster-run.XXXXXX)"
mkdir -p "$RESULTS"
declare -a NODE_PID=() NODE_URL=()
NGINX_PID=""
PG_DIR=""
PG_STOP=()
stop_pid() { # stop_pid <pid>: TERM, wait up to 20 s, then KILL
    local pid="$1" i
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    [[ -n "$NGINX_PID" ]] && stop_pid "$NGINX_PID"
    for pid in "${NODE_PID[@]}"; do stop_pid "$pid"; done
    if [[ -n "$PG_DIR" ]]; then
        "${PG_STOP[@]}" >/dev/null 2>&1 || true
        cp "$PG_DIR/log" "$WORK/postgresql.log" 2>/dev/null || true
        rm -rf "$PG_DIR"
    fi
    # Keep logs, wrk output and results (bench/results/ is git-ignored); drop the data directories and the body.
    rm -f "$RESULTS"/*.log "$RESULTS"/*.txt "$RESULTS"/*.jsonl "$RESULTS"/*.json "$RESULTS"/*.conf
    cp "$WORK"/*.log "$WORK"/*.txt "$WORK"/*.jsonl "$WORK"/*.json "$WORK"/*.conf "$RESULTS/" 2>/dev/null || true
    cp "$WORK"/nginx/nginx.conf "$RESULTS/nginx.conf" 2>/dev/null || true
    cp "$WORK"/nginx/error.log "$RESULTS/nginx-error.log" 2>/dev/null || true
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
    die "$2 does not build; see bench/results/cluster/build-$2.log"
}
commit_before="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "building src/Gureum.Server (Release)"
build src/Gureum.Server/Gureum.Server.csproj server
SERVER_DLL="src/Gureum.Server/bin/Release/net10.0/Gureum.Server.dll"
[[ -f "$SERVER_DLL" ]] || die "$SERVER_DLL not found after the build"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ "$commit" == "$commit_before" ]] || commit="$commit (HEAD moved from $commit_before during the build)"
changed="$(git status --porcelain -- src bench/cluster bench/serving/post.lua bench/serving/tool.py Directory.Build.props Directory.Packages.props 2>/dev/null | awk '{ print $NF }' | paste -sd, - | sed 's/,/, /g' || true)"
[[ -z "$changed" ]] || commit="$commit (with uncommitted changes to $changed: what ran is the working tree, not exactly this commit)"

# The body bench/serving sends to the MLP's /v1 predict: {"inputs":{"features":[[32 floats]]}}, the reference's first row.
"$PY" "$SERVING/tool.py" bodies "$MODELS_DIR" "$ADULT_CSV" "$WORK/bodies" >"$WORK/bodies.log" || die "tool.py bodies failed"
BODY="$WORK/bodies/mlp-v1.json"
BODY_BYTES="$(stat -c %s "$BODY")"

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
wait_for() { # url name pid log [seconds]
    local url="$1" name="$2" pid="$3" logfile="$4" limit="${5:-120}" i
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

# ---------------------------------------------------------------------------------------------- PostgreSQL
# A throwaway cluster, as bin/gureum's start_postgres: initdb and pg_ctl as the postgres user when run as root, trust
# auth, on a free port of 127.0.0.1; stopped and deleted by the EXIT trap. max_connections is raised: each node keeps
# a pool that grows with the concurrent requests it serves (authentication and metering hit the database per request).
PG_DIR="$(mktemp -d /tmp/gureum-bench-cluster-pg.XXXXXX)"
PG_PORT="$(free_port)"
PG_AS=()
if [[ "$(id -u)" -eq 0 ]]; then chown postgres "$PG_DIR"; PG_AS=(runuser -u postgres --); fi
"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
PG_STOP=("${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop)
"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c max_connections=400" start >/dev/null \
    || { cat "$PG_DIR/log" >&2; die "PostgreSQL did not start"; }
PG_PID="$(head -n 1 "$PG_DIR/data/postmaster.pid")"
"${PG_AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres gureum_bench || die "createdb failed"
PG_VERSION="$("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /')"
DATABASE="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=gureum_bench"
log "$PG_VERSION on 127.0.0.1:$PG_PORT (throwaway cluster in $PG_DIR)"

# ---------------------------------------------------------------------------------------------- nodes
random_key() { # a key in the server's own format: gur_<12 base32 chars>_<32 random bytes, base64url>
    local id secret
    id="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'a-z2-7')"
    secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    printf 'gur_%s_%s' "${id:0:12}" "$secret"
}
ADMIN_KEY="$(random_key)"   # bootstrapped by node 1's first start; the others find it in the shared database
ARTIFACTS="$WORK/artifacts"
mkdir -p "$ARTIFACTS"
start_node() { # start_node <n>: node n (1-based) with its own data directory, HTTP, silo and gateway ports
    local n="$1" http silo gateway
    http="$(free_port)"; silo="$(free_port)"; gateway="$(free_port)"
    NODE_URL[$n]="http://127.0.0.1:$http"
    log "starting node n$n on ${NODE_URL[$n]} (silo $silo, gateway $gateway)"
    GUREUM_BOOTSTRAP_KEY="$ADMIN_KEY" ASPNETCORE_ENVIRONMENT=Production \
        dotnet "$SERVER_DLL" --cluster --node-name "n$n" --artifacts "$ARTIFACTS" --database "$DATABASE" \
        --data "$WORK/data-n$n" --urls "${NODE_URL[$n]}" --silo-port "$silo" --gateway-port "$gateway" \
        >"$WORK/node-n$n.log" 2>&1 &
    NODE_PID[$n]=$!
}
# Node 1 first (it applies the schema and bootstraps the admin key), then the other two together.
start_node 1
wait_for "${NODE_URL[1]}/health/ready" "node n1" "${NODE_PID[1]}" "$WORK/node-n1.log"
for n in $(seq 2 $NODES); do start_node "$n"; done
for n in $(seq 2 $NODES); do wait_for "${NODE_URL[$n]}/health/ready" "node n$n" "${NODE_PID[$n]}" "$WORK/node-n$n.log"; done

STATUS=""
api() { # api <node> METHOD PATH [curl args...]: the answer in $WORK/last.json, the status in $STATUS
    local n="$1" method="$2" path="$3"
    shift 3
    STATUS="$(curl -s -o "$WORK/last.json" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $ADMIN_KEY" "$@" "${NODE_URL[$n]}$path" || true)"
}
expect() { # expect <statuses> <what>
    [[ " $1 " == *" $STATUS "* ]] || die "$2 answered $STATUS: $(head -c 600 "$WORK/last.json")"
}
alive=0
for i in $(seq 1 120); do
    api 1 GET /v1/nodes
    expect 200 "GET /v1/nodes"
    alive="$(jq '[.[] | select(.alive)] | length' "$WORK/last.json")"
    (( alive >= NODES )) && break
    sleep 0.5
done
(( alive >= NODES )) || die "GET /v1/nodes lists $alive live nodes after 60 s, not $NODES: $(head -c 600 "$WORK/last.json")"
cp "$WORK/last.json" "$WORK/nodes-start.json"
log "GET /v1/nodes: $(jq -r '[.[] | "\(.name) (alive \(.alive), \(.cores) cores)"] | join(", ")' "$WORK/nodes-start.json")"

# Everything is created through node 1.
BATCHING="{\"maxBatchSize\":$MAX_BATCH,\"maxDelayMs\":$MAX_DELAY_MS}"
api 1 POST /v1/projects -H 'content-type: application/json' -d '{"name":"bench-cluster"}'
expect 201 "POST /v1/projects"
PROJECT="$(jq -r '.id' "$WORK/last.json")"
api 1 POST "/v1/projects/$PROJECT/keys" -H 'content-type: application/json' -d '{"name":"bench","scopes":["predict"]}'
expect 201 "creating a predict key"
PKEY="$(jq -r '.secret' "$WORK/last.json")"
[[ -n "$PKEY" && "$PKEY" != null ]] || die "no secret in the key answer"
api 1 POST "/v1/projects/$PROJECT/models" -H 'content-type: application/json' -d '{"name":"mlp"}'
expect 201 "registering model mlp"
api 1 POST "/v1/projects/$PROJECT/models/mlp/versions" -F "file=@$MODELS_DIR/mlp.onnx"
expect 201 "uploading mlp.onnx"
[[ "$(jq -r '.version' "$WORK/last.json")" == 1 ]] || die "the upload of mlp is not version 1: $(head -c 300 "$WORK/last.json")"
api 1 POST "/v1/projects/$PROJECT/endpoints" -H 'content-type: application/json' \
    -d "{\"name\":\"mlp\",\"deployments\":[{\"model\":\"mlp\",\"version\":1,\"weight\":100}],\"batching\":$BATCHING}"
expect "201 202" "deploying endpoint mlp"
PREDICT_PATH="/v1/projects/$PROJECT/endpoints/mlp/predict"

# Every node must load the endpoint itself (no placement is declared, so all of them serve it).
for n in $(seq 1 $NODES); do
    status=""
    for i in $(seq 1 600); do
        api "$n" GET "/v1/projects/$PROJECT/endpoints/mlp"
        expect 200 "n$n: GET endpoint mlp"
        status="$(jq -r 'if .status == "ready" and (.serving | length) > 0 then "ready" else (.status // "") end' "$WORK/last.json")"
        case "$status" in
            ready) break ;;
            failed) die "n$n: endpoint mlp failed: $(jq -r '.reason // .' "$WORK/last.json")" ;;
        esac
        kill -0 "${NODE_PID[$n]}" 2>/dev/null || die "node n$n died while endpoint mlp was loading"
        sleep 0.5
    done
    [[ "$status" == ready ]] || die "n$n: endpoint mlp not ready (serving on this node) after 300 s (last status '$status')"
    log "n$n: endpoint mlp ready, served here ($(jq -r '.serving[0] | "\(.model) v\(.version), batching \(.batching)"' "$WORK/last.json"))"
done

check_predict() { # check_predict <url> <name>: one prediction with the benchmark's body answers 200 with the reference output
    local s out
    s="$(curl -s -o "$WORK/check-$2.json" -w '%{http_code}' -H "Authorization: Bearer $PKEY" \
        -H 'content-type: application/json' --data-binary "@$BODY" "$1$PREDICT_PATH" || true)"
    [[ "$s" == 200 ]] || die "$2: predict answered $s: $(head -c 600 "$WORK/check-$2.json")"
    out="$("$PY" "$SERVING/tool.py" check-tensor "$WORK/check-$2.json" v1 "$MODELS_DIR/mlp.reference.json" 2>&1)" \
        || die "$2: the predict answer is wrong: $out"
    log "check $2: $out"
}
for n in $(seq 1 $NODES); do check_predict "${NODE_URL[$n]}" "n$n"; done

# ---------------------------------------------------------------------------------------------- nginx
# One nginx, three servers: front port k is a round-robin upstream over nodes 1..k, with keep-alive connections to the
# nodes (HTTP/1.1, Connection header cleared) so the front does not open a connection per request.
NGX="$WORK/nginx"
mkdir -p "$NGX/tmp"
declare -a FRONT_PORT=()
for k in $(seq 1 $NODES); do FRONT_PORT[$k]="$(free_port)"; done
{
    [[ "$(id -u)" -eq 0 ]] && echo "user root;"
    echo "worker_processes $NGINX_WORKERS;"
    echo "daemon off;"
    echo "pid $NGX/nginx.pid;"
    echo "error_log $NGX/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "    access_log off;"
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $NGX/tmp/$t;"; done
    for k in $(seq 1 $NODES); do
        echo "    upstream nodes$k {"
        for n in $(seq 1 "$k"); do echo "        server ${NODE_URL[$n]#http://};"; done
        echo "        keepalive 256;"
        echo "    }"
        echo "    server {"
        echo "        listen 127.0.0.1:${FRONT_PORT[$k]};"
        echo "        location / {"
        echo "            proxy_pass http://nodes$k;"
        echo "            proxy_http_version 1.1;"
        echo "            proxy_set_header Connection \"\";"
        echo "            proxy_set_header Host \$host;"
        echo "        }"
        echo "    }"
    done
    echo "}"
} >"$NGX/nginx.conf"
"$NGINX" -t -p "$NGX" -c "$NGX/nginx.conf" >"$WORK/nginx-t.log" 2>&1 || { cat "$WORK/nginx-t.log" >&2; die "nginx rejects the generated config"; }
"$NGINX" -p "$NGX" -c "$NGX/nginx.conf" >"$WORK/nginx-stdout.log" 2>&1 &
NGINX_PID=$!
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's/^nginx version: //; s#^nginx/#nginx #')"
for k in $(seq 1 $NODES); do
    for i in $(seq 1 40); do
        ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE "[:.]${FRONT_PORT[$k]}\$" && break
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx-stdout.log" "$NGX/error.log" >&2 2>/dev/null; die "nginx exited"; }
        sleep 0.25
    done
    check_predict "http://127.0.0.1:${FRONT_PORT[$k]}" "nginx-$k"
done
log "$NGINX_VERSION (pid $NGINX_PID, $NGINX_WORKERS worker(s)) on ports ${FRONT_PORT[*]} over nodes 1, 1-2, 1-3"

side_url() { # the URL wrk loads for a side
    case "$1" in
        direct-1) echo "${NODE_URL[1]}$PREDICT_PATH" ;;
        nginx-*) echo "http://127.0.0.1:${FRONT_PORT[${1#nginx-}]}$PREDICT_PATH" ;;
    esac
}

# ---------------------------------------------------------------------------------------------- measuring
to_ms() { # "3.21ms" | "850.00us" | "1.02s" -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.4f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.4f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.4f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.4f", v * 1000 }
        else { print "NaN" } }'
}
ticks() { # "n1 n2 n3 nginx postgres busy total": the CPU ticks of everything this benchmark started (each process with
    # its descendants) and of the machine, read by one small process (bench/cluster/ticks.py)
    local n roots=()
    for n in $(seq 1 $NODES); do roots+=("${NODE_PID[$n]}"); done
    "$PY" "$HERE/ticks.py" "${roots[@]}" "$NGINX_PID" "$PG_PID"
}
CHILD_TICKS=0
read_children_ticks() { # cutime + cstime of this shell: the CPU of the children it has waited for (wrk)
    local stat fields
    read -r stat <"/proc/$BASHPID/stat"
    read -r -a fields <<<"${stat##*) }"
    CHILD_TICKS=$((fields[13] + fields[14]))
}
other_busy() { # other_busy <ticks before> <ticks after>: % of the machine busy with anything but our processes
    awk -v a="$1" -v b="$2" -v k=$((NODES + 2)) 'BEGIN { n = split(a, x, " "); split(b, y, " ")
        mine = 0; for (i = 1; i <= k; i++) mine += y[i] - x[i]
        t = y[n] - x[n]; o = t > 0 ? 100 * (y[n - 1] - x[n - 1] - mine) / t : 0; printf "%.0f", o < 0 ? 0 : o }'
}
wait_for_quiet() { # a shared machine: wait (up to QUIET_WAIT seconds) for other work, a build say, to finish
    local deadline=$((SECONDS + QUIET_WAIT)) t0 t1 busy
    while true; do
        t0="$(ticks)"; sleep 2; t1="$(ticks)"
        busy="$(other_busy "$t0" "$t1")"
        (( busy < 20 )) && return 0
        if (( SECONDS >= deadline )); then
            log "the machine is still $busy% busy with other work after ${QUIET_WAIT} s; measuring anyway (see the other-CPU column)"
            return 0
        fi
        log "the machine is $busy% busy with other work; waiting for it to go quiet"
    done
}
node_requests() { # "r1 r2 r3 b1 b2 b3": each node's count of answered predictions on endpoint mlp (its own serving[], no
    # shadows) and its dynamic batches so far (the batcher's rows / mean batch size; every request here is one row)
    local n out="" r b=""
    for n in $(seq 1 $NODES); do
        r="$(curl -s -H "Authorization: Bearer $ADMIN_KEY" "${NODE_URL[$n]}/v1/projects/$PROJECT/endpoints/mlp" \
            | jq -r '[.serving[] | select(.shadow | not)] | "\([.[].requests] | add // 0) \([.[] | select(.meanBatchSize != null) | .requests / .meanBatchSize] | add // 0 | floor)"' 2>/dev/null || true)"
        [[ "$r" =~ ^[0-9]+\ [0-9]+$ ]] || die "n$n: could not read the endpoint's request count"
        out="$out ${r% *}"
        b="$b ${r#* }"
    done
    echo "$out $b"
}
alive_check() {
    local n
    for n in $(seq 1 $NODES); do kill -0 "${NODE_PID[$n]}" 2>/dev/null || die "node n$n died"; done
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died"
    kill -0 "$PG_PID" 2>/dev/null || die "PostgreSQL died"
}

: >"$WORK/results.jsonl"
# run_side <side> <round> <duration>: one wrk run; appends a JSON line to results.jsonl unless round is "warmup".
run_side() {
    local side="$1" round="$2" duration="$3" tag="$1-r$2" out url
    out="$WORK/wrk-$tag.txt"
    url="$(side_url "$side")"
    local req0 req1 g0 g1 t0 t1 own0 sampler sample_at
    req0="$(node_requests)"
    # What the platform itself says, 70% into the run (so that the node's last 3 s heartbeat measured the load):
    # GET /v1/nodes, each node's CPU % of its machine.
    sample_at="$(awk -v d="$(seconds_of "$duration")" 'BEGIN { print d * 0.7 }')"
    g0="$(ticks)"
    read_children_ticks; own0="$CHILD_TICKS"; t0="$EPOCHREALTIME"
    ( sleep "$sample_at"
      curl -s -H "Authorization: Bearer $ADMIN_KEY" "${NODE_URL[1]}/v1/nodes" >"$WORK/nodes-$tag.json" 2>/dev/null || true ) &
    sampler=$!
    BODY_FILE="$BODY" AUTH_KEY="$PKEY" wrk "-t$THREADS" "-c$CONNECTIONS" "-d$duration" --timeout 30s --latency \
        -s "$SERVING/post.lua" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($tag)"; }
    read_children_ticks; t1="$EPOCHREALTIME"
    g1="$(ticks)"
    wait "$sampler" 2>/dev/null || true
    sleep 0.5   # requests in flight when wrk stopped are finished and counted by now
    req1="$(node_requests)"
    alive_check
    cat "$out" >>"$WORK/wrk-all.txt"
    local non2xx errors rps p50 p99 total
    non2xx="$(sed -n 's/.*Non-2xx or 3xx responses:[[:space:]]*\([0-9]*\).*/\1/p' "$out")"
    errors="$(sed -n 's/.*Socket errors:[[:space:]]*\(.*\)/\1/p' "$out")"
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(awk '$1 == "50%" {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {print $2}' "$out")"
    total="$(awk '/requests in/ {print $1}' "$out")"
    [[ -n "$rps" && -n "$p50" && -n "$p99" && -n "$total" ]] || { cat "$out" >&2; die "could not parse wrk output ($tag)"; }
    [[ -z "$non2xx" ]] || { cat "$out" >&2; die "$tag: $non2xx non-2xx/3xx responses"; }
    if [[ -n "$errors" ]]; then
        [[ "$errors" =~ timeout\ 0$ ]] || { cat "$out" >&2; die "$tag: requests timed out ($errors)"; }
        log "$tag: socket errors: $errors"
    fi
    [[ "$round" == warmup ]] && return 0
    local line
    line="$(jq -cn --arg side "$side" --argjson round "$round" --argjson rps "$rps" --argjson p50 "$(to_ms "$p50")" \
        --argjson p99 "$(to_ms "$p99")" --argjson total "$total" --arg errors "${errors:-}" \
        --arg req0 "$req0" --arg req1 "$req1" --arg g0 "$g0" --arg g1 "$g1" \
        --argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
        --argjson wrkTicks $((CHILD_TICKS - own0)) --argjson hz "$HZ" --argjson nodes "$NODES" \
        --slurpfile v1nodes <(cat "$WORK/nodes-$tag.json" 2>/dev/null || echo null) '
        def nums: [splits(" +") | select(. != "") | tonumber];
        ($req0 | nums) as $r0 | ($req1 | nums) as $r1 | ($g0 | nums) as $a | ($g1 | nums) as $b
        | def pct(t): (100 * t / $hz / $wall * 10 | round) / 10;
        {side: $side, round: $round, rps: $rps, p50: $p50, p99: $p99, requests: $total, non2xx: 0, socketErrors: $errors,
         wall: $wall,
         nodeRequests: [range(0; $nodes) | $r1[.] - $r0[.]],
         nodeBatches: [range($nodes; 2 * $nodes) | $r1[.] - $r0[.]],
         nodeCpu: [range(0; $nodes) | pct($b[.] - $a[.])],
         nginxCpu: pct($b[$nodes] - $a[$nodes]),
         postgresCpu: pct($b[$nodes + 1] - $a[$nodes + 1]),
         wrkCpu: pct($wrkTicks),
         otherPct: (($b[$nodes + 3] - $a[$nodes + 3]) as $total | if $total > 0 then
             ((100 * (($b[$nodes + 2] - $a[$nodes + 2]) - ([range(0; $nodes + 2) | $b[.] - $a[.]] | add) - $wrkTicks) / $total) as $o
              | if $o < 0 then 0 else ($o * 10 | round) / 10 end) else 0 end),
         v1nodes: ($v1nodes[0] // null | if type == "array" then [.[] | {name, alive, cpuPercent: .load.cpuPercent}] else null end)}')" \
        || die "could not assemble the result of $tag"
    echo "$line" >>"$WORK/results.jsonl"
    log "round $round  $(printf '%-8s' "$side") $(printf '%9.1f' "$rps") req/s  p50 $(printf '%7.2f' "$(to_ms "$p50")") ms  p99 $(printf '%7.2f' "$(to_ms "$p99")") ms  $(jq -r '"requests per node \(.nodeRequests | join("/")) of \(.requests); CPU % of a core: nodes \(.nodeCpu | join("/")), nginx \(.nginxCpu), PostgreSQL \(.postgresCpu), wrk \(.wrkCpu); other \(.otherPct)% of the machine"' <<<"$line")"
}
seconds_of() { # "10s" | "10" | "1m" -> seconds
    local v="$1"
    case "$v" in
        *ms) awk -v x="${v%ms}" 'BEGIN { print x / 1000 }' ;;
        *s) echo "${v%s}" ;;
        *m) awk -v x="${v%m}" 'BEGIN { print x * 60 }' ;;
        *) echo "$v" ;;
    esac
}

log "warm-up ($WARMUP per side at $CONNECTIONS connections)"
wait_for_quiet
for side in "${SIDES[@]}"; do run_side "$side" warmup "$WARMUP"; done

for round in $(seq 1 "$ROUNDS"); do
    order=("${SIDES[@]}")
    if (( round % 2 == 0 )); then order=(); for ((i = ${#SIDES[@]} - 1; i >= 0; i--)); do order+=("${SIDES[$i]}"); done; fi
    for side in "${order[@]}"; do
        wait_for_quiet
        run_side "$side" "$round" "$DURATION"
    done
done

# ---------------------------------------------------------------------------------------------- record
api 1 GET /v1/nodes
expect 200 "GET /v1/nodes"
cp "$WORK/last.json" "$WORK/nodes-end.json"
alive_end="$(jq '[.[] | select(.alive)] | length' "$WORK/nodes-end.json")"
node_errors="" node_warnings=""
for n in $(seq 1 $NODES); do
    node_errors="$node_errors $(grep -cE '"LogLevel":"(Error|Critical)"|\bfail: |\bcrit: ' "$WORK/node-n$n.log" || true)"
    node_warnings="$node_warnings $(grep -cE '"LogLevel":"Warning"|\bwarn: ' "$WORK/node-n$n.log" || true)"
done
# What the errors were (Category: message, first three lines), each distinct one once with the nodes that logged it.
for n in $(seq 1 $NODES); do
    jq -Rr --arg node "n$n" 'fromjson? | select(.LogLevel == "Error" or .LogLevel == "Critical")
        | "\(.Category): \(.Message | split("\n")[0:3] | join(" ") | .[0:200])\t\($node)"' "$WORK/node-n$n.log" 2>/dev/null || true
done | awk -F'\t' '{ if (!($1 in seen)) { order[++k] = $1; seen[$1] = $2 } else if (index(seen[$1], $2) == 0) seen[$1] = seen[$1] ", " $2 }
    END { for (i = 1; i <= k; i++) print order[i] " (" seen[order[i]] ")" }' >"$WORK/node-errors.txt"
nginx_errors="$(grep -cE '\[(error|crit|alert|emerg)\]' "$NGX/error.log" 2>/dev/null || true)"

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
wrk_version="$(wrk -v 2>&1 | head -n 1 | sed 's/[[:space:]]*Copyright.*//' || true)"
jq -n \
    --arg machine "$(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $(dotnet --version 2>/dev/null || echo unknown); ${wrk_version:-wrk}; $NGINX_VERSION; $PG_VERSION" \
    --arg commit "$commit" --arg command "$invocation" --arg duration "$DURATION" --arg warmup "$WARMUP" \
    --argjson rounds "$ROUNDS" --argjson threads "$THREADS" --argjson connections "$CONNECTIONS" \
    --arg nginxWorkers "$NGINX_WORKERS" --arg batching "$BATCHING" --argjson bodyBytes "$BODY_BYTES" \
    --argjson cores "$(nproc)" --argjson nodes "$NODES" --argjson aliveEnd "$alive_end" \
    --arg nodeErrors "$node_errors" --arg nodeWarnings "$node_warnings" --arg nginxErrors "${nginx_errors:-0}" \
    --arg nodeErrorLines "$(cat "$WORK/node-errors.txt")" \
    '$ARGS.named' >"$WORK/meta.json"
"$PY" "$HERE/report.py" --meta "$WORK/meta.json" --results "$WORK/results.jsonl" --doc "$DOC" >"$WORK/summary.txt" \
    || die "report.py failed"
cat "$WORK/summary.txt" >&2
log "appended to ${DOC#"$ROOT"/}; raw wrk output, node, nginx and PostgreSQL logs in bench/results/cluster/"
