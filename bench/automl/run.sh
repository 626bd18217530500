#!/usr/bin/env bash
# Benchmark: AutoML quality. On six public datasets (adult, diamonds, titanic, penguins, winequality-red,
# mammography), the same train/test files for every side, in the same run:
#   Gureum  bench/AutoML (AutoMLBench.dll): Gureum's AutoML search within BUDGET seconds, test metrics   - under test
#   HGB     bench/automl/peer.py hgb: scikit-learn HistGradientBoosting{Classifier,Regressor}, defaults    - a peer
#   XGB     bench/automl/peer.py xgb: xgboost XGB{Classifier,Regressor}, defaults                         - a peer
# The test metric is Gureum's default per task (binary AUC, multiclass macro-accuracy, regression RMSE).
# A dated section with the exact command, a table per dataset and the goal (Gureum >= the best peer on at
# least 5 of 6 within the budget) is appended to docs/benchmarks.md.
#
# Usage: bash bench/automl/run.sh
# Knobs (environment): BUDGET=60 ROUNDS=1 SEED=1 SPLIT_SEED=1 DATASETS="adult diamonds ..." QUIET_WAIT=60
#                      SIDE_TIMEOUT=(3 x BUDGET + 120) CACHE_DIR=/tmp/gureum-bench-automl DOC=docs/benchmarks.md
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/automl/run.sh"
for knob in DOC CACHE_DIR SIDE_TIMEOUT QUIET_WAIT DATASETS SPLIT_SEED SEED ROUNDS BUDGET; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=\"${!knob}\" $invocation"
    fi
done

BUDGET="${BUDGET:-60}"
ROUNDS="${ROUNDS:-1}"
SEED="${SEED:-1}"
export SPLIT_SEED="${SPLIT_SEED:-1}"
DATASETS="${DATASETS:-adult diamonds titanic penguins winequality-red mammography}"
QUIET_WAIT="${QUIET_WAIT:-60}"
SIDE_TIMEOUT="${SIDE_TIMEOUT:-$((3 * BUDGET + 120))}"
export CACHE_DIR="${CACHE_DIR:-/tmp/gureum-bench-automl}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"
PY=/usr/bin/python3
export DATA_DIR="$ROOT/../shared/testdata/datasets"
RESULTS="$ROOT/bench/results/automl"

log() { printf '[automl] %s\n' "$*" >&2; }
die() { printf '[automl] FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y "$@" >/dev/null
    fi
}
"$PY" -c 'import pandas' 2>/dev/null || { log "installing python3-pandas"; apt_install python3-pandas; }
"$PY" -c 'import sklearn' 2>/dev/null || { log "installing python3-sklearn"; apt_install python3-sklearn; }
"$PY" -c 'import xgboost' 2>/dev/null || { log "installing python3-xgboost"; apt_install python3-xgboost; }
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"
[[ -d "$DATA_DIR" ]] || die "$DATA_DIR not found (the shared test data sits next to the repository)"

WORK="$(mktemp -d /tmp/gureum-bench-automl-run.XXXXXX)"
cleanup() {
    mkdir -p "$RESULTS"
    rm -f "$RESULTS"/*.log "$RESULTS"/*.json "$RESULTS"/*.jsonl
    cp "$WORK"/*.log "$WORK"/*.json "$WORK"/*.jsonl "$RESULTS/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------- build
log "building bench/AutoML (Release; builds src/Gureum.ML from the working tree)"
commit_before="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
built=""
for attempt in 1 2 3; do
    if dotnet build -c Release -nologo -v quiet bench/AutoML/AutoML.csproj >"$WORK/build.log" 2>&1; then
        built=1
        break
    fi
    log "build failed (attempt $attempt; the tree may be mid-edit), retrying in 60 s"
    tail -n 20 "$WORK/build.log" >&2
    sleep 60
done
[[ -n "$built" ]] || die "bench/AutoML does not build; see bench/results/automl/build.log"
BENCH_DLL="bench/AutoML/bin/Release/net10.0/AutoMLBench.dll"
[[ -f "$BENCH_DLL" ]] || die "$BENCH_DLL not found after the build"
# What was built: the commit, and the files of the library that differed from it (recorded now, at build time:
# someone may commit while the benchmark runs).
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ "$commit" == "$commit_before" ]] || commit="$commit (HEAD moved from $commit_before during the build)"
dirty=""
changed="$(git status --porcelain -- src/Gureum.ML bench/AutoML Directory.Build.props Directory.Packages.props 2>/dev/null | awk '{ print $NF }' | paste -sd, - | sed 's/,/, /g' || true)"
if [[ -n "$changed" ]]; then
    dirty=" (with uncommitted changes to $changed: what ran is the working tree, not exactly this commit)"
fi

# ---------------------------------------------------------------------------------------------- data
log "preparing train/test files (cached in $CACHE_DIR)"
# shellcheck disable=SC2086
"$PY" bench/automl/prepare.py $DATASETS >"$WORK/datasets.jsonl" || die "prepare.py failed"

# ---------------------------------------------------------------------------------------------- measuring
system_ticks() { # "busy total" over all cores, from /proc/stat
    awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6; exit }' /proc/stat
}
CHILD_TICKS=0
read_children_ticks() { # cutime + cstime of this (sub)shell: the CPU of the children it has waited for
    local stat fields
    read -r stat <"/proc/$BASHPID/stat"
    read -r -a fields <<<"${stat##*) }"
    CHILD_TICKS=$((fields[13] + fields[14]))
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

# run_side <side> <dataset json fields...>: runs one side on one dataset, appends one line to results.jsonl:
# {"dataset", "side", "round", "seed", "otherCpu", "wall", "result": <the side's JSON line>}.
# wall is the whole process (start-up, reading, everything); the side's own "seconds" is what the table quotes.
run_side() {
    local side="$1" name="$2" target="$3" task="$4" train="$5" test="$6" round="$7" seed="$8"
    local tag="$name-$side-$round" sys0 sys1 c0 c1 other t0 t1 json
    local -a cmd
    case "$side" in
        gureum) cmd=(dotnet "$BENCH_DLL" --train "$train" --test "$test" --target "$target" --task "$task"
                     --budget "$BUDGET" --seed "$seed" --trials 1) ;;
        hgb | xgb) cmd=("$PY" bench/automl/peer.py "$side" "$train" "$test" "$target" "$task" "$seed") ;;
    esac
    sys0="$(system_ticks)"
    read_children_ticks; c0="$CHILD_TICKS"
    t0="$(date +%s.%N)"
    if ! timeout "$SIDE_TIMEOUT" "${cmd[@]}" >"$WORK/$tag.json" 2>"$WORK/$tag.log"; then
        tail -n 30 "$WORK/$tag.log" >&2
        die "$side failed on $name (or ran past SIDE_TIMEOUT=${SIDE_TIMEOUT}s); see bench/results/automl/$tag.log"
    fi
    t1="$(date +%s.%N)"
    read_children_ticks; c1="$CHILD_TICKS"
    sys1="$(system_ticks)"
    other="$(awk -v s0="$sys0" -v s1="$sys1" -v own=$((c1 - c0)) 'BEGIN {
        split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
        o = total > 0 ? 100 * (busy - own) / total : 0; printf "%.1f", o < 0 ? 0 : o }')"
    json="$(tail -n 1 "$WORK/$tag.json")"
    [[ "$json" == "{"* ]] || die "$side on $name printed no JSON line; see bench/results/automl/$tag.json"
    printf '{"dataset": "%s", "side": "%s", "round": %s, "seed": %s, "otherCpu": %s, "wall": %s, "log": "%s.log", "result": %s}\n' \
        "$name" "$side" "$round" "$seed" "$other" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$tag" "$json" \
        >>"$WORK/results.jsonl"
    log "$name round $round $(printf '%-6s' "$side") $(sed -e 's/.*"test": *{\([^}]*\)}.*/\1/' <<<"$json" | cut -c1-110)  (other processes: $other% CPU)"
}

: >"$WORK/results.jsonl"
while read -r line; do
    fields="$("$PY" -c 'import json, sys; d = json.loads(sys.argv[1]); print(d["name"], d["target"], d["task"], d["train"], d["test"])' "$line")"
    read -r name target task train test <<<"$fields"
    for round in $(seq 1 "$ROUNDS"); do
        seed=$((SEED + round - 1))
        for side in gureum hgb xgb; do
            wait_for_quiet
            run_side "$side" "$name" "$target" "$task" "$train" "$test" "$round" "$seed"
        done
    done
done <"$WORK/datasets.jsonl"

# ---------------------------------------------------------------------------------------------- record
cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
machine="$(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $(dotnet --version 2>/dev/null || echo unknown)"
"$PY" bench/automl/report.py --datasets "$WORK/datasets.jsonl" --results "$WORK/results.jsonl" --logs "$WORK" \
    --doc "$DOC" --commit "$commit$dirty" --command "$invocation" --machine "$machine" --budget "$BUDGET" --rounds "$ROUNDS" \
    --seed "$SEED" --split-seed "$SPLIT_SEED" --dll "$BENCH_DLL" >"$WORK/summary.log" || die "report.py failed"
cat "$WORK/summary.log" >&2
log "appended to ${DOC#"$ROOT"/}; raw results and trial logs in bench/results/automl/"
