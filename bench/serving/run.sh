#!/usr/bin/env bash
# Benchmark: model serving. Three models from ../shared/testdata: the MLP (mlp.onnx, features [b,32] ->
# probabilities [b,10]), the CNN (mobilenet_v3_small.onnx, image [b,3,224,224] -> logits [b,1000]) and an AutoML
# model of adult (trained by Gureum on adult-train.csv). One row per request, at fixed concurrency levels, for:
#   limit   bench/ServingLimit: ONNX Runtime (or the Gureum AutoML model) called in-process by closed-loop clients,
#           with no batching (limit-b1) and with ideal dynamic batching up to 32 rows (limit-b32); no HTTP
#   Gureum  the server's POST /v2/models/{m}/infer (ONNX models; JSON tensors, and v2-binary: the protocol's binary
#           tensor data extension, raw float32 after the JSON part) and POST /v1/projects/{p}/endpoints/{e}/predict,
#           on an endpoint with batching (maxBatchSize 32, maxDelayMs 1) and on one without (v1-nobatch)
#   peer    bench/serving/peer.py: the same model as TorchScript (.pt) in PyTorch, served by Flask under gunicorn
#           (sync workers, POST /invocations) the way MLflow's pyfunc server serves models; for adult a
#           scikit-learn HistGradientBoosting pipeline (no PyTorch model exists for it)
# with wrk on loopback (Lua script POSTing a fixed body). Rounds alternate the sides; medians of req/s, p50 and
# p99 per side and concurrency, the ratios, the goals (Gureum >= 70% of the limit at concurrency 64 with batching,
# >= 5x the peer, MLP p99 < 5 ms at half its peak load) and the exact command are appended to docs/benchmarks.md.
#
# Usage: bash bench/serving/run.sh
# Knobs (environment): ROUNDS=3 DURATION=10s WARMUP=5s CONCURRENCY="1 16 64" MODELS="mlp cnn adult"
#                      SIDES="limit gureum peer" TRAIN_BUDGET=30 PEER_WORKERS=2 QUIET_WAIT=120
#                      CACHE_DIR=/tmp/gureum-bench-serving DOC=docs/benchmarks.md
#                      PERF=1 (perf record of the server under each Gureum side: bench/results/serving/perf-TAG.data)
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/serving/run.sh"
for knob in PERF DOC CACHE_DIR QUIET_WAIT PEER_WORKERS TRAIN_BUDGET SIDES MODELS CONCURRENCY WARMUP DURATION ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=\"${!knob}\" $invocation"
    fi
done

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
CONCURRENCY="${CONCURRENCY:-1 16 64}"
MODELS="${MODELS:-mlp cnn adult}"
SIDES="${SIDES:-limit gureum peer}"
TRAIN_BUDGET="${TRAIN_BUDGET:-30}"
PEER_WORKERS="${PEER_WORKERS:-2}"
QUIET_WAIT="${QUIET_WAIT:-120}"
CACHE_DIR="${CACHE_DIR:-/tmp/gureum-bench-serving}"
MAX_BATCH=32
MAX_DELAY_MS=1
LIMIT_WARMUP=3       # seconds of in-process warm-up in every limit run (each is a fresh process)
CALIBRATE=3s         # the short paced run that sets the wait of the half-peak runs

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RESULTS="$ROOT/bench/results/serving"
MODELS_DIR="$ROOT/../shared/testdata/models"
ADULT_CSV="$ROOT/../shared/testdata/datasets/adult-train.csv"
PY=/usr/bin/python3
HERE="$ROOT/bench/serving"

log() { printf '[serving] %s\n' "$*" >&2; }
die() { printf '[serving] FAILED: %s\n' "$*" >&2; exit 1; }

has_side() { [[ " $SIDES " == *" $1 "* ]]; }
has_model() { [[ " $MODELS " == *" $1 "* ]]; }
for s in $SIDES; do [[ "$s" =~ ^(limit|gureum|peer)$ ]] || die "SIDES may hold limit, gureum and peer, not '$s'"; done
for m in $MODELS; do [[ "$m" =~ ^(mlp|cnn|adult)$ ]] || die "MODELS may hold mlp, cnn and adult, not '$m'"; done
for c in $CONCURRENCY; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY must be positive integers, not '$c'"; done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
# A section without the Gureum side is a trial of the script, not a result: keep it out of docs/ unless DOC says so.
if [[ -z "${DOC:-}" ]]; then
    if has_side gureum; then DOC="$ROOT/docs/benchmarks.md"; else DOC="$RESULTS/section.md"; rm -f "$DOC"; fi
fi
seconds_of() { # "10s" | "10" | "1m" -> seconds
    local v="$1"
    case "$v" in
        *ms) awk -v x="${v%ms}" 'BEGIN { print x / 1000 }' ;;
        *s) echo "${v%s}" ;;
        *m) awk -v x="${v%m}" 'BEGIN { print x * 60 }' ;;
        *) echo "$v" ;;
    esac
}
DURATION_S="$(seconds_of "$DURATION")"
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
if has_side peer; then
    { has_model mlp || has_model cnn; } && ! "$PY" -c 'import torch' 2>/dev/null && { log "installing python3-torch"; apt_install python3-torch; }
    "$PY" -c 'import flask' 2>/dev/null || { log "installing python3-flask"; apt_install python3-flask; }
    if has_model adult; then
        "$PY" -c 'import sklearn, pandas' 2>/dev/null || { log "installing python3-sklearn python3-pandas"; apt_install python3-sklearn python3-pandas; }
    fi
    command -v gunicorn >/dev/null 2>&1 || { log "installing gunicorn"; apt_install gunicorn || log "no gunicorn: the peer runs on Flask's threaded server"; }
fi
[[ -d "$MODELS_DIR" ]] || die "$MODELS_DIR not found (the shared test data sits next to the repository)"

WORK="$(mktemp -d /tmp/gureum-bench-serving-run.XXXXXX)"
mkdir -p "$CACHE_DIR" "$RESULTS"
SERVER_PID=""
declare -A PEER_PID=()
cleanup() {
    local pid
    for pid in "$SERVER_PID" "${PEER_PID[@]}"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    # Keep logs, wrk output and results (bench/results/ is git-ignored); drop the data directory and bodies.
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
    die "$2 does not build; see bench/results/serving/build-$2.log"
}
commit_before="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "building bench/ServingLimit (Release; builds src/Gureum.ML from the working tree)"
build bench/ServingLimit/ServingLimit.csproj limit
LIMIT_DLL="bench/ServingLimit/bin/Release/net10.0/ServingLimit.dll"
[[ -f "$LIMIT_DLL" ]] || die "$LIMIT_DLL not found after the build"
if has_side gureum; then
    log "building src/Gureum.Server (Release)"
    build src/Gureum.Server/Gureum.Server.csproj server
    SERVER_DLL="src/Gureum.Server/bin/Release/net10.0/Gureum.Server.dll"
    [[ -f "$SERVER_DLL" ]] || die "$SERVER_DLL not found after the build"
fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ "$commit" == "$commit_before" ]] || commit="$commit (HEAD moved from $commit_before during the build)"
changed="$(git status --porcelain -- src bench/ServingLimit bench/serving Directory.Build.props Directory.Packages.props 2>/dev/null | awk '{ print $NF }' | paste -sd, - | sed 's/,/, /g' || true)"
[[ -z "$changed" ]] || commit="$commit (with uncommitted changes to $changed: what ran is the working tree, not exactly this commit)"

# ---------------------------------------------------------------------------------------------- data
BODIES="$WORK/bodies"
"$PY" "$HERE/tool.py" bodies "$MODELS_DIR" "$ADULT_CSV" "$BODIES" >"$WORK/bodies.log" || die "tool.py bodies failed"
onnx_of() { case "$1" in mlp) echo "$MODELS_DIR/mlp.onnx" ;; cnn) echo "$MODELS_DIR/mobilenet_v3_small.onnx" ;; esac; }
pt_of() { case "$1" in mlp) echo "$MODELS_DIR/mlp.pt" ;; cnn) echo "$MODELS_DIR/mobilenet_v3_small.pt" ;; esac; }
ref_of() { case "$1" in mlp) echo "$MODELS_DIR/mlp.reference.json" ;; cnn) echo "$MODELS_DIR/mobilenet_v3_small.reference.json" ;; esac; }
input_of() { case "$1" in mlp) echo features ;; cnn) echo image ;; esac; }

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
    local url="$1" name="$2" pid="$3" logfile="$4" limit="${5:-60}" i
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

# ---------------------------------------------------------------------------------------------- peer
declare -A PEER_URL=()
PEER_SERVER=""
start_peer() { # start_peer <model>
    local model="$1" port logfile
    port="$(free_port)"
    logfile="$WORK/peer-$model.log"
    local -a env
    if [[ "$model" == adult ]]; then
        local pkl="$CACHE_DIR/adult-peer-s1-v1.pkl"
        if [[ ! -s "$pkl" ]]; then
            log "training the peer's adult model (scikit-learn HistGradientBoosting; cached in $pkl)"
            "$PY" "$HERE/peer.py" train-adult "$ADULT_CSV" "$pkl" 1 >"$WORK/peer-train-adult.log" 2>&1 \
                || { cat "$WORK/peer-train-adult.log" >&2; die "peer.py train-adult failed"; }
        fi
        env=(PEER_KIND=sklearn "PEER_MODEL=$pkl")
    else
        env=(PEER_KIND=torch "PEER_MODEL=$(pt_of "$model")" "PEER_INPUT=$(input_of "$model")")
    fi
    if command -v gunicorn >/dev/null 2>&1; then
        PEER_SERVER="gunicorn $(gunicorn --version 2>&1 | sed -n 's/.*(version \(.*\))/\1/p'), $PEER_WORKERS sync workers, 1 torch/OpenMP thread each"
        env "${env[@]}" PEER_THREADS=1 gunicorn -w "$PEER_WORKERS" -b "127.0.0.1:$port" --chdir "$HERE" --timeout 120 \
            --log-level warning peer:app >"$logfile" 2>&1 &
    else
        PEER_SERVER="Flask's threaded server (no gunicorn), 1 torch/OpenMP thread"
        env "${env[@]}" PEER_THREADS=1 "$PY" "$HERE/peer.py" serve "$port" >"$logfile" 2>&1 &
    fi
    PEER_PID[$model]=$!
    PEER_URL[$model]="http://127.0.0.1:$port/invocations"
    wait_for "http://127.0.0.1:$port/ping" "peer ($model)" "${PEER_PID[$model]}" "$logfile" 120
}

# ---------------------------------------------------------------------------------------------- Gureum
random_key() { # a key in the server's own format: gur_<12 base32 chars>_<32 random bytes, base64url>
    local id secret
    id="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'a-z2-7')"
    secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    printf 'gur_%s_%s' "${id:0:12}" "$secret"
}
STATUS=""
api() { # api METHOD PATH [curl args...]: the answer in $WORK/last.json, the status in $STATUS
    local method="$1" path="$2"
    shift 2
    STATUS="$(curl -s -o "$WORK/last.json" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $ADMIN_KEY" "$@" "$GUREUM$path" || true)"
}
expect() { # expect <statuses> <what>
    [[ " $1 " == *" $STATUS "* ]] || die "$2 answered $STATUS: $(head -c 600 "$WORK/last.json")"
}
no_serving() { # the server was built from a tree without model serving
    die "the Gureum server has no model serving yet ($1 answered $STATUS: $(head -c 300 "$WORK/last.json")). Run with SIDES=\"limit peer\" until it is merged."
}
ENDPOINTS=()
deploy() { # deploy <endpoint> <model> <version> <batching json>
    api POST "/v1/projects/$PROJECT_ID/endpoints" -H 'content-type: application/json' \
        -d "{\"name\":\"$1\",\"deployments\":[{\"model\":\"$2\",\"version\":$3,\"weight\":100}],\"batching\":$4}"
    [[ "$STATUS" == 404 || "$STATUS" == 405 ]] && no_serving "POST /v1/projects/{p}/endpoints"
    expect "201 202" "deploying endpoint $1"
    ENDPOINTS+=("$1")
}
wait_ready() { # wait_ready <endpoint>
    local i status
    for i in $(seq 1 600); do
        api GET "/v1/projects/$PROJECT_ID/endpoints/$1"
        expect 200 "GET endpoint $1"
        status="$(jq -r '.status // empty' "$WORK/last.json")"
        case "$status" in
            ready) return 0 ;;
            failed) die "endpoint $1 failed: $(jq -r '.reason // .' "$WORK/last.json")" ;;
        esac
        kill -0 "$SERVER_PID" 2>/dev/null || die "the Gureum server died while endpoint $1 was deploying"
        sleep 0.5
    done
    die "endpoint $1 not ready after 300 s (last status '$status')"
}
register_onnx() { # register_onnx <model>: model name = the short name, version 1
    api POST "/v1/projects/$PROJECT_ID/models" -H 'content-type: application/json' -d "{\"name\":\"$1\"}"
    expect 201 "registering model $1"
    api POST "/v1/projects/$PROJECT_ID/models/$1/versions" -F "file=@$(onnx_of "$1")"
    expect 201 "uploading $(basename "$(onnx_of "$1")")"
    [[ "$(jq -r '.version' "$WORK/last.json")" == 1 ]] || die "the upload of $1 is not version 1: $(head -c 300 "$WORK/last.json")"
}
ADULT_MODEL=""
ADULT_TRAINER=""
train_adult_on_gureum() {
    local job status i
    api POST "/v1/projects/$PROJECT_ID/datasets" -H 'content-type: application/json' -d '{"name":"adult"}'
    expect 201 "creating dataset adult"
    api POST "/v1/projects/$PROJECT_ID/datasets/adult/versions?header=false" -H 'content-type: text/csv' --data-binary "@$ADULT_CSV"
    expect "200 201" "uploading adult-train.csv"
    api POST "/v1/projects/$PROJECT_ID/training-jobs" -H 'content-type: application/json' \
        -d "{\"dataset\":\"adult\",\"target\":\"column_15\",\"budgetSeconds\":$TRAIN_BUDGET,\"seed\":1}"
    expect "201 202" "submitting the adult training job"
    job="$(jq -r '.id' "$WORK/last.json")"
    log "training adult on Gureum (job $job, budget $TRAIN_BUDGET s)"
    for i in $(seq 1 $((4 * (TRAIN_BUDGET * 4 + 300)))); do
        api GET "/v1/projects/$PROJECT_ID/training-jobs/$job"
        expect 200 "GET training job $job"
        status="$(jq -r '.status' "$WORK/last.json")"
        case "$status" in
            succeeded) break ;;
            failed | cancelled) die "the adult training job $status: $(jq -r '.error // .' "$WORK/last.json")" ;;
        esac
        sleep 0.25
    done
    [[ "$status" == succeeded ]] || die "the adult training job did not finish in time (status $status)"
    ADULT_TRAINER="$(jq -r '.bestTrainer // "?"' "$WORK/last.json")"
    cp "$WORK/last.json" "$WORK/adult-training-job.json"
    api POST "/v1/projects/$PROJECT_ID/models" -H 'content-type: application/json' -d '{"name":"adult"}'
    expect 201 "registering model adult"
    api POST "/v1/projects/$PROJECT_ID/models/adult/versions" -H 'content-type: application/json' -d "{\"trainingJob\":\"$job\"}"
    expect 201 "registering the adult training job's model"
    [[ "$(jq -r '.version' "$WORK/last.json")" == 1 ]] || die "the adult model is not version 1: $(head -c 300 "$WORK/last.json")"
    ADULT_TRAINER="$(jq -r --arg best "$ADULT_TRAINER" '.signature.metadata["gureum.trainer"] // $best' "$WORK/last.json")"
    # The limit runs the very file Gureum serves.
    ADULT_MODEL="$WORK/adult-gureum.zip"
    STATUS="$(curl -s -o "$ADULT_MODEL" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_KEY" \
        "$GUREUM/v1/projects/$PROJECT_ID/training-jobs/$job/model" || true)"
    [[ "$STATUS" == 200 ]] || die "downloading the adult model answered $STATUS"
}

if has_side gureum; then
    HTTP_PORT="$(free_port)"
    SILO_PORT="$(free_port)"
    GATEWAY_PORT="$(free_port)"
    GUREUM="http://127.0.0.1:$HTTP_PORT"
    ADMIN_KEY="$(random_key)"
    log "starting Gureum on $GUREUM (silo $SILO_PORT, gateway $GATEWAY_PORT)"
    # PERF=1: the JIT writes /tmp/perf-PID.map so that perf can name managed frames (code not double-mapped W^X,
    # whose frames perf cannot name).
    perf_env=()
    [[ -z "${PERF:-}" ]] || perf_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
    env "${perf_env[@]}" GUREUM_BOOTSTRAP_KEY="$ADMIN_KEY" ASPNETCORE_ENVIRONMENT=Production \
        dotnet "$SERVER_DLL" --data "$WORK/data" --urls "$GUREUM" \
        --Gureum:SiloPort="$SILO_PORT" --Gureum:GatewayPort="$GATEWAY_PORT" \
        >"$WORK/gureum-server.log" 2>&1 &
    SERVER_PID=$!
    wait_for "$GUREUM/health/ready" "Gureum server" "$SERVER_PID" "$WORK/gureum-server.log"

    api POST /v1/projects -H 'content-type: application/json' -d '{"name":"bench"}'
    expect 201 "POST /v1/projects"
    PROJECT_ID="$(jq -r '.id' "$WORK/last.json")"
    # Predictions go with a project key (the V2 routes take their namespace from the key's project).
    api POST "/v1/projects/$PROJECT_ID/keys" -H 'content-type: application/json' -d '{"name":"bench","scopes":["predict","project:read"]}'
    expect 201 "creating a project key"
    PROJECT_KEY="$(jq -r '.secret' "$WORK/last.json")"
    [[ -n "$PROJECT_KEY" && "$PROJECT_KEY" != null ]] || die "no secret in the key answer"

    # Ask for serving first: without it nothing below can be measured.
    api GET "/v1/projects/$PROJECT_ID/endpoints"
    [[ "$STATUS" == 404 || "$STATUS" == 405 ]] && no_serving "GET /v1/projects/{p}/endpoints"

    BATCHING="{\"maxBatchSize\":$MAX_BATCH,\"maxDelayMs\":$MAX_DELAY_MS,\"maxQueue\":4096}"
    for m in mlp cnn; do
        has_model "$m" || continue
        register_onnx "$m"
        deploy "$m" "$m" 1 "$BATCHING"
        deploy "$m-nobatch" "$m" 1 "{\"maxBatchSize\":1}"
    done
    if has_model adult; then
        train_adult_on_gureum
        deploy adult adult 1 "$BATCHING"
        deploy adult-nobatch adult 1 "{\"maxBatchSize\":1}"
    fi
    for e in "${ENDPOINTS[@]}"; do wait_ready "$e"; done
    log "project $PROJECT_ID: endpoints ${ENDPOINTS[*]} ready"
fi

if has_model adult && [[ -z "$ADULT_MODEL" ]] && has_side limit; then
    # No Gureum server: the limit trains its own copy (same library, budget and seed; not the same model file).
    key="$(git rev-parse HEAD:src/Gureum.ML 2>/dev/null || echo none)"
    [[ -z "$(git status --porcelain -- src/Gureum.ML 2>/dev/null)" ]] || key="dirty-$(date +%s)"
    ADULT_MODEL="$CACHE_DIR/adult-gureum-b$TRAIN_BUDGET-s1-${key:0:12}.zip"
    if [[ ! -s "$ADULT_MODEL" ]]; then
        log "training the limit's adult model with Gureum.ML in-process (budget $TRAIN_BUDGET s; cached in $ADULT_MODEL)"
        dotnet "$LIMIT_DLL" train --data "$ADULT_CSV" --target column_15 --budget "$TRAIN_BUDGET" --seed 1 --out "$ADULT_MODEL" \
            >"$WORK/limit-train-adult.log" 2>&1 || { cat "$WORK/limit-train-adult.log" >&2; die "ServingLimit train failed"; }
    fi
fi

if has_side peer; then
    for m in $MODELS; do start_peer "$m"; done
fi

# ---------------------------------------------------------------------------------------------- correctness
# Every path answers the benchmark's own body correctly before anything is timed.
post() { # post <url> <body file> <out> [key]: prints the status
    local -a auth=()
    [[ -n "${4:-}" ]] && auth=(-H "Authorization: Bearer $4")
    curl -s -o "$3" -w '%{http_code}' "${auth[@]}" -H 'content-type: application/json' --data-binary "@$2" "$1" || true
}
v2_url() { echo "$GUREUM/v2/models/$1/infer"; }
v1_url() { echo "$GUREUM/v1/projects/$PROJECT_ID/endpoints/$1/predict"; }
check_ok() { # check_ok <what> <command...>
    local out
    out="$("${@:2}" 2>&1)" || die "$1: $out"
    log "check $1: $out"
}
for m in $MODELS; do
    if [[ "$m" == adult ]]; then
        expected=""
        if [[ -n "$ADULT_MODEL" ]]; then
            dotnet "$LIMIT_DLL" check --model "$ADULT_MODEL" --records "$BODIES/adult-v1.json" >"$WORK/check-adult-limit.json" 2>"$WORK/check-adult-limit.log" \
                || { cat "$WORK/check-adult-limit.log" >&2; die "the limit cannot predict the adult record"; }
            check_ok "adult limit" jq -c '.predictions[0]' "$WORK/check-adult-limit.json"
            expected="$WORK/check-adult-limit.json"
        fi
        if has_side gureum; then
            for e in adult adult-nobatch; do
                s="$(post "$(v1_url "$e")" "$BODIES/adult-v1.json" "$WORK/check-$e-v1.json" "$PROJECT_KEY")"
                [[ "$s" == 200 ]] || die "v1 predict on $e answered $s: $(head -c 600 "$WORK/check-$e-v1.json")"
                check_ok "$e v1" "$PY" "$HERE/tool.py" check-adult "$WORK/check-$e-v1.json" v1 "$expected"
            done
        fi
        if has_side peer; then
            s="$(post "${PEER_URL[adult]}" "$BODIES/adult-peer.json" "$WORK/check-adult-peer.json")"
            [[ "$s" == 200 ]] || die "the adult peer answered $s: $(head -c 600 "$WORK/check-adult-peer.json")"
            check_ok "adult peer" "$PY" "$HERE/tool.py" check-adult "$WORK/check-adult-peer.json" peer
        fi
        continue
    fi
    ref="$(ref_of "$m")"
    if has_side limit; then
        check_ok "$m limit" dotnet "$LIMIT_DLL" check --model "$(onnx_of "$m")" --reference "$ref"
    fi
    if has_side gureum; then
        s="$(post "$(v2_url "$m")" "$BODIES/$m-v2.json" "$WORK/check-$m-v2.json" "$PROJECT_KEY")"
        [[ "$s" == 404 || "$s" == 405 ]] && STATUS="$s" && cp "$WORK/check-$m-v2.json" "$WORK/last.json" && no_serving "POST /v2/models/$m/infer"
        [[ "$s" == 200 ]] || die "v2 infer on $m answered $s: $(head -c 600 "$WORK/check-$m-v2.json")"
        check_ok "$m v2" "$PY" "$HERE/tool.py" check-tensor "$WORK/check-$m-v2.json" v2 "$ref"
        s="$(curl -s -o "$WORK/check-$m-v2bin.json" -w '%{http_code}' -H "Authorization: Bearer $PROJECT_KEY" -H 'content-type: application/octet-stream' \
            -H "Inference-Header-Content-Length: $(cat "$BODIES/$m-v2bin.len")" --data-binary "@$BODIES/$m-v2bin.bin" "$(v2_url "$m")" || true)"
        [[ "$s" == 200 ]] || die "v2 binary infer on $m answered $s: $(head -c 600 "$WORK/check-$m-v2bin.json")"
        check_ok "$m v2 binary" "$PY" "$HERE/tool.py" check-tensor "$WORK/check-$m-v2bin.json" v2 "$ref"
        for e in "$m" "$m-nobatch"; do
            s="$(post "$(v1_url "$e")" "$BODIES/$m-v1.json" "$WORK/check-$e-v1.json" "$PROJECT_KEY")"
            [[ "$s" == 200 ]] || die "v1 predict on $e answered $s: $(head -c 600 "$WORK/check-$e-v1.json")"
            check_ok "$e v1" "$PY" "$HERE/tool.py" check-tensor "$WORK/check-$e-v1.json" v1 "$ref"
        done
    fi
    if has_side peer; then
        s="$(post "${PEER_URL[$m]}" "$BODIES/$m-v1.json" "$WORK/check-$m-peer.json")"
        [[ "$s" == 200 ]] || die "the $m peer answered $s: $(head -c 600 "$WORK/check-$m-peer.json")"
        check_ok "$m peer" "$PY" "$HERE/tool.py" check-tensor "$WORK/check-$m-peer.json" peer "$ref"
    fi
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
server_ticks() { # utime + stime of the servers and all their descendants (gunicorn workers, model processes)
    local roots="$SERVER_PID ${PEER_PID[*]}"
    ps -e -o pid=,ppid= 2>/dev/null | awk -v roots="$roots" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            n = split(roots, r, " "); for (i = 1; i <= n; i++) if (r[i] != "") mine[r[i]] = 1
            do { grew = 0; for (i in pids) { p = pids[i]; if (!(p in mine) && (parent[p] in mine)) { mine[p] = 1; grew = 1 } } } while (grew)
            for (p in mine) print p }' | while read -r pid; do
        stat="$(cat "/proc/$pid/stat" 2>/dev/null || true)"
        [[ -n "$stat" ]] && awk '{ print $12 + $13 }' <<<"${stat##*) }"
    done | awk '{ s += $1 } END { print s + 0 }'
}
CHILD_TICKS=0
read_children_ticks() { # cutime + cstime of this shell: the CPU of the children it has waited for (wrk, the limit)
    local stat fields
    read -r stat <"/proc/$BASHPID/stat"
    read -r -a fields <<<"${stat##*) }"
    CHILD_TICKS=$((fields[13] + fields[14]))
}
SYS0="" SRV0=0 OWN0=0
cpu_begin() { SYS0="$(system_ticks)"; SRV0="$(server_ticks)"; read_children_ticks; OWN0="$CHILD_TICKS"; }
cpu_other() { # cpu_other <children ticks now>: the share of the machine's CPU used since cpu_begin by anything but
    # the servers, wrk and the limit. The caller reads its children's ticks (read_children_ticks) in its own shell:
    # this function runs in a command substitution, whose children are not wrk's parent.
    local sys1 srv1
    CHILD_TICKS="$1"
    sys1="$(system_ticks)"
    srv1="$(server_ticks)"
    awk -v s0="$SYS0" -v s1="$sys1" -v srv=$((srv1 - SRV0)) -v own=$((CHILD_TICKS - OWN0)) 'BEGIN {
        split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
        o = total > 0 ? 100 * (busy - srv - own) / total : 0; printf "%.1f", o < 0 ? 0 : o }'
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

# run_wrk <tag> <duration> <connections> <script> <url> <body> [key] [delay ms]: prints "rps p50 p99 other".
# Fails on any non-2xx/3xx answer and on timeouts; other socket errors are logged.
run_wrk() {
    local tag="$1" duration="$2" conns="$3" script="$4" url="$5" body="$6" key="${7:-}" delay="${8:-0}"
    local out="$WORK/wrk-$tag.txt" threads rps p50 p99 non2xx errors other
    threads=$(( conns < 2 ? 1 : 2 ))
    cpu_begin
    local perf_pid=""
    if [[ -n "${PERF:-}" && -n "$SERVER_PID" && "$url" == "$GUREUM"* && "$tag" != warmup-* ]] && command -v perf >/dev/null; then
        # PERF=1: a CPU profile of the server under this load, for `perf report -i bench/results/serving/perf-TAG.data`.
        perf record -q -F 499 -g -p "$SERVER_PID" -o "$RESULTS/perf-$tag.data" -- sleep "$(seconds_of "$duration")" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    BODY_FILE="$body" AUTH_KEY="$key" DELAY_MS="$delay" BINARY_HEADER_LENGTH="${BINARY_HEADER_LENGTH:-}" wrk "-t$threads" "-c$conns" "-d$duration" --timeout 30s --latency \
        -s "$script" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($tag)"; }
    [[ -z "$perf_pid" ]] || wait "$perf_pid" || true
    read_children_ticks
    other="$(cpu_other "$CHILD_TICKS")"
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
    printf '%s %s %s %s\n' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$other"
}

# run_limit <tag> <model> <clients> <max batch>: prints "rps p50 p99 other" and keeps the JSON line.
run_limit() {
    local tag="$1" model="$2" clients="$3" batch="$4" other out="$WORK/limit-$1.json"
    local -a input
    if [[ "$model" == adult ]]; then
        input=(--model "$ADULT_MODEL" --records "$BODIES/adult-v1.json")
    else
        input=(--model "$(onnx_of "$model")" --input "$(ref_of "$model")" --sessions shared --intra 1)
    fi
    cpu_begin
    dotnet "$LIMIT_DLL" run "${input[@]}" --clients "$clients" --max-batch "$batch" --duration "$DURATION_S" \
        --warmup "$LIMIT_WARMUP" >"$out" 2>"$WORK/limit-$tag.log" || { cat "$WORK/limit-$tag.log" >&2; die "the limit failed ($tag)"; }
    read_children_ticks
    other="$(cpu_other "$CHILD_TICKS")"
    jq -r --arg other "$other" '"\(.requestsPerSec) \(.p50Ms) \(.p99Ms) \($other)"' "$out"
}

sides_of() { # the measured sides of a model, in the order they alternate
    local s=()
    if has_side limit; then s+=(limit-b32 limit-b1); fi
    if has_side gureum; then
        [[ "$1" != adult ]] && s+=(v2 v2-binary)
        s+=(v1 v1-nobatch)
    fi
    if has_side peer; then s+=(peer); fi
    echo "${s[@]}"
}

# measure <model> <side> <connections> <tag> [duration]: prints "rps p50 p99 other"
measure() {
    local m="$1" side="$2" c="$3" tag="$4" duration="${5:-$DURATION}"
    case "$side" in
        limit-b32) run_limit "$tag" "$m" "$c" "$MAX_BATCH" ;;
        limit-b1) run_limit "$tag" "$m" "$c" 1 ;;
        v2) run_wrk "$tag" "$duration" "$c" "$HERE/post.lua" "$(v2_url "$m")" "$BODIES/$m-v2.json" "$PROJECT_KEY" ;;
        v2-binary) BINARY_HEADER_LENGTH="$(cat "$BODIES/$m-v2bin.len")" run_wrk "$tag" "$duration" "$c" "$HERE/post.lua" "$(v2_url "$m")" "$BODIES/$m-v2bin.bin" "$PROJECT_KEY" ;;
        v1) run_wrk "$tag" "$duration" "$c" "$HERE/post.lua" "$(v1_url "$m")" "$BODIES/$m-v1.json" "$PROJECT_KEY" ;;
        v1-nobatch) run_wrk "$tag" "$duration" "$c" "$HERE/post.lua" "$(v1_url "$m-nobatch")" "$BODIES/$m-v1.json" "$PROJECT_KEY" ;;
        peer)
            local body="$BODIES/$m-v1.json"
            [[ "$m" == adult ]] && body="$BODIES/adult-peer.json"
            run_wrk "$tag" "$duration" "$c" "$HERE/post.lua" "${PEER_URL[$m]}" "$body" ;;
    esac
}

: >"$WORK/results.jsonl"
record() { # record <file> <model> <side> <connections> <round> <rps p50 p99 other> [extra json]
    local rps p50 p99 other
    read -r rps p50 p99 other <<<"$6"
    printf '{"model":"%s","side":"%s","concurrency":%s,"round":%s,"rps":%s,"p50":%s,"p99":%s,"other":%s,"extra":%s}\n' \
        "$2" "$3" "$4" "$5" "$rps" "$p50" "$p99" "$other" "${7:-null}" >>"$1"
}

log "warm-up ($WARMUP per HTTP side at $MAX_C connections)"
wait_for_quiet
for m in $MODELS; do
    for side in $(sides_of "$m"); do
        [[ "$side" == limit-* ]] && continue
        measure "$m" "$side" "$MAX_C" "warmup-$m-$side" "$WARMUP" >/dev/null
    done
done

for round in $(seq 1 "$ROUNDS"); do
    for m in $MODELS; do
        for c in $CONCURRENCY; do
            for side in $(sides_of "$m"); do
                wait_for_quiet
                tag="$m-$side-c$c-r$round"
                result="$(measure "$m" "$side" "$c" "$tag")"
                extra=null
                [[ "$side" == limit-* ]] && extra="$(jq -c '{meanBatch, cpuCores, runtime, workers}' "$WORK/limit-$tag.json")"
                record "$WORK/results.jsonl" "$m" "$side" "$c" "$round" "$result" "$extra"
                read -r rps p50 p99 other <<<"$result"
                log "round $round  $(printf '%-5s %-10s c=%-3s' "$m" "$side" "$c") $(printf '%10.1f' "$rps") req/s  p50 $(printf '%8.3f' "$p50") ms  p99 $(printf '%8.3f' "$p99") ms  (other processes: $other% CPU)"
            done
        done
    done
done

# ---------------------------------------------------------------------------------------------- half peak
# The MLP at half of its peak load: per Gureum path, the peak is the highest median req/s over CONCURRENCY; wrk then
# holds MAX_C keep-alive connections, each waiting a random time before each request (paced.lua), so that together
# they offer about half that rate; the p99 of those requests is the figure. Not for the peer: its gunicorn sync
# workers accept a connection and then block reading it while wrk waits before writing (wrk connects first; the
# peer closes every connection), so pacing would measure that artefact, not the model server.
: >"$WORK/half.jsonl"
declare -A HALF_DELAY=() HALF_TARGET=() HALF_PEAK=()
paced() { # paced <side> <tag> <duration> <mean wait ms>: prints "rps p50 p99 other"
    if [[ "$1" == v2 ]]; then
        run_wrk "$2" "$3" "$MAX_C" "$HERE/paced.lua" "$(v2_url mlp)" "$BODIES/mlp-v2.json" "$PROJECT_KEY" "$4"
    else
        run_wrk "$2" "$3" "$MAX_C" "$HERE/paced.lua" "$(v1_url mlp)" "$BODIES/mlp-v1.json" "$PROJECT_KEY" "$4"
    fi
}
HALF_SIDES=()
if has_model mlp && has_side gureum; then
    HALF_SIDES=(v2 v1)
    for side in "${HALF_SIDES[@]}"; do
        peak="$(jq -s --arg side "$side" '[.[] | select(.model == "mlp" and .side == $side)] | group_by(.concurrency)
            | map(map(.rps) | sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end) | max' "$WORK/results.jsonl")"
        target="$(awk -v p="$peak" 'BEGIN { printf "%.1f", p / 2 }')"
        # Calibrate: the offered rate is about C / (wait + latency); a short run gives the latency at this load.
        delay="$(awk -v c="$MAX_C" -v r="$target" 'BEGIN { printf "%.3f", 1000 * c / r }')"
        wait_for_quiet
        result="$(paced "$side" "half-mlp-$side-calibrate" "$CALIBRATE" "$delay")"
        read -r rps _ _ _ <<<"$result"
        delay="$(awk -v c="$MAX_C" -v r="$target" -v d="$delay" -v got="$rps" 'BEGIN { l = 1000 * c / got - d; x = 1000 * c / r - l; printf "%.3f", x < 0 ? 0 : x }')"
        log "half peak, $side: peak $peak req/s, target $target req/s with $MAX_C connections: mean wait $delay ms per request"
        HALF_DELAY[$side]="$delay"
        HALF_TARGET[$side]="$target"
        HALF_PEAK[$side]="$peak"
    done
    for round in $(seq 1 "$ROUNDS"); do
        for side in "${HALF_SIDES[@]}"; do
            wait_for_quiet
            result="$(paced "$side" "half-mlp-$side-r$round" "$DURATION" "${HALF_DELAY[$side]}")"
            record "$WORK/half.jsonl" mlp "$side" "$MAX_C" "$round" "$result" \
                "{\"peak\":${HALF_PEAK[$side]},\"target\":${HALF_TARGET[$side]},\"waitMs\":${HALF_DELAY[$side]}}"
            read -r rps p50 p99 other <<<"$result"
            log "half peak round $round  mlp $(printf '%-3s' "$side") $(printf '%10.1f' "$rps") req/s (target ${HALF_TARGET[$side]})  p50 $(printf '%8.3f' "$p50") ms  p99 $(printf '%8.3f' "$p99") ms  (other processes: $other% CPU)"
        done
    done
fi

# ---------------------------------------------------------------------------------------------- record
# Every server must still be alive, and the Gureum log free of errors, for the numbers to count.
server_errors=0
server_warnings=0
if has_side gureum; then
    kill -0 "$SERVER_PID" 2>/dev/null || die "the Gureum server died during the run"
    server_errors="$(grep -cE '"LogLevel":"(Error|Critical)"|\bfail: ' "$WORK/gureum-server.log" || true)"
    server_warnings="$(grep -cE '"LogLevel":"Warning"|\bwarn: ' "$WORK/gureum-server.log" || true)"
fi
for m in "${!PEER_PID[@]}"; do
    kill -0 "${PEER_PID[$m]}" 2>/dev/null || die "the $m peer died during the run"
done

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
wrk_version="$(wrk -v 2>&1 | head -n 1 | sed 's/[[:space:]]*Copyright.*//' || true)"
torch_version="$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)"
sklearn_version="$("$PY" -c 'import sklearn; print(sklearn.__version__)' 2>/dev/null || echo none)"
flask_version="$("$PY" -c 'import importlib.metadata as m; print(m.version("flask"))' 2>/dev/null || echo none)"
jq -n \
    --arg machine "$(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $(dotnet --version 2>/dev/null || echo unknown); ${wrk_version:-wrk}" \
    --arg commit "$commit" --arg command "$invocation" --arg sides "$SIDES" --arg models "$MODELS" \
    --arg concurrency "$CONCURRENCY" --arg duration "$DURATION" --arg warmup "$WARMUP" --argjson rounds "$ROUNDS" \
    --argjson maxBatch "$MAX_BATCH" --argjson maxDelayMs "$MAX_DELAY_MS" --argjson limitWarmup "$LIMIT_WARMUP" \
    --arg peerServer "$PEER_SERVER" --arg torch "$torch_version" --arg sklearn "$sklearn_version" --arg flask "$flask_version" \
    --arg adultTrainer "$ADULT_TRAINER" --argjson trainBudget "$TRAIN_BUDGET" --argjson maxC "$MAX_C" \
    --argjson serverErrors "${server_errors:-0}" --argjson serverWarnings "${server_warnings:-0}" \
    --arg bodies "$(cat "$WORK/bodies.log")" \
    '$ARGS.named' >"$WORK/meta.json"
"$PY" "$HERE/report.py" --meta "$WORK/meta.json" --results "$WORK/results.jsonl" --half "$WORK/half.jsonl" --doc "$DOC" \
    >"$WORK/summary.txt" || die "report.py failed"
cat "$WORK/summary.txt" >&2
log "appended to ${DOC#"$ROOT"/}; raw wrk output, limit JSON lines and logs in bench/results/serving/"
