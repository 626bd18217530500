#!/usr/bin/env bash
# Benchmark: the drift report (issue 7: "a drift computation over 1 million logged rows and 30 features finishes in
# seconds"). DriftBench generates a Gureum SQLite database holding ROWS logged rows of 20 numeric and 10 categorical
# columns as prediction samples of PER_REQUEST records each (the server's own sample shape, four columns drifted on
# purpose), the profiled training dataset and an AutoML-kind model version with its training report. Four sides, each
# a fresh process per round under /usr/bin/time -v, alternating, on the same database:
#   gureum  DriftBench gureum: Drift.ComputeAsync (the route's computation), RUNS times in the process   - under test
#   peer    bench/drift/peer.py: the same report with json + pandas + numpy (Debian python3-pandas)       - the peer
#   raw     DriftBench raw: the same rows read the same way and every JSON token read, nothing counted    - the limit
#   read    DriftBench read: the database read alone                                                      - the floor
# The medians, rows/s, peak RSS, the ratios, a check that Gureum and the peer agree, the goal (Gureum's first, cold
# computation under GOAL_SECONDS) and the exact command are appended to docs/benchmarks.md.
#
# Usage: bash bench/drift/run.sh
# Knobs (environment): ROUNDS=3 RUNS=3 PEER_RUNS=1 ROWS=1000000 PER_REQUEST=100 QUIET_WAIT=120 SIDE_TIMEOUT=900
#                      CACHE_DIR=/tmp/gureum-bench-drift DOC=docs/benchmarks.md
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/drift/run.sh"
for knob in DOC CACHE_DIR SIDE_TIMEOUT QUIET_WAIT PER_REQUEST ROWS PEER_RUNS RUNS ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=${!knob} $invocation"
    fi
done

ROUNDS="${ROUNDS:-3}"
RUNS="${RUNS:-3}"
PEER_RUNS="${PEER_RUNS:-1}"
ROWS="${ROWS:-1000000}"
PER_REQUEST="${PER_REQUEST:-100}"
QUIET_WAIT="${QUIET_WAIT:-120}"
SIDE_TIMEOUT="${SIDE_TIMEOUT:-900}"
CACHE_DIR="${CACHE_DIR:-/tmp/gureum-bench-drift}"
BASELINE_ROWS=100000
SEED=1
GENERATOR=1          # bump when DriftBench's generated data changes, so cached databases are not reused
GOAL_SECONDS=5       # "finishes in seconds": Gureum's cold (first) computation in a fresh process, median of the rounds

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"
RESULTS="$ROOT/bench/results/drift"
PY=/usr/bin/python3
SIDES=(gureum peer raw read)

log() { printf '[drift] %s\n' "$*" >&2; }
die() { printf '[drift] FAILED: %s\n' "$*" >&2; exit 1; }

for n in "$ROUNDS" "$RUNS" "$PEER_RUNS" "$ROWS" "$PER_REQUEST"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS, RUNS, PEER_RUNS, ROWS and PER_REQUEST must be positive integers"
done

# ---------------------------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y "$@" >/dev/null
    fi
}
[[ -x /usr/bin/time ]] || { log "installing time"; apt_install time; }
"$PY" -c 'import pandas, numpy' 2>/dev/null || { log "installing python3-pandas"; apt_install python3-pandas; }
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"

WORK="$(mktemp -d /tmp/gureum-bench-drift-run.XXXXXX)"
mkdir -p "$RESULTS" "$CACHE_DIR"
cleanup() {
    rm -f "$RESULTS"/*.log "$RESULTS"/*.txt "$RESULTS"/*.json
    cp "$WORK"/*.log "$WORK"/*.txt "$WORK"/*.json "$RESULTS/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------- build
log "building bench/drift/DriftBench (Release; builds src/Gureum.Server from the working tree)"
commit_before="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
built=""
for attempt in 1 2 3; do
    if dotnet build -c Release -nologo -v quiet bench/drift/DriftBench/DriftBench.csproj >"$WORK/build.log" 2>&1; then
        built=1
        break
    fi
    log "build failed (attempt $attempt; the tree may be mid-edit), retrying in 60 s"
    tail -n 20 "$WORK/build.log" >&2
    sleep 60
done
[[ -n "$built" ]] || die "bench/drift/DriftBench does not build; see bench/results/drift/build.log"
BENCH_DLL="bench/drift/DriftBench/bin/Release/net10.0/DriftBench.dll"
[[ -f "$BENCH_DLL" ]] || die "$BENCH_DLL not found after the build"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ "$commit" == "$commit_before" ]] || commit="$commit (HEAD moved from $commit_before during the build)"
changed="$(git status --porcelain -- src bench/drift Directory.Build.props Directory.Packages.props 2>/dev/null | awk '{ print $NF }' | paste -sd, - | sed 's/,/, /g' || true)"
[[ -z "$changed" ]] || commit="$commit (with uncommitted changes to $changed: what ran is the working tree, not exactly this commit)"

# ---------------------------------------------------------------------------------------------- data
DATA="$CACHE_DIR/rows$ROWS-per$PER_REQUEST-base$BASELINE_ROWS-seed$SEED-v$GENERATOR"
DB="$DATA/gureum.db"
if [[ ! -s "$DATA/generated.json" || ! -s "$DB" ]]; then
    log "generating $ROWS rows in requests of $PER_REQUEST into $DATA (about 15 s per million rows)"
    rm -rf "$DATA"
    dotnet "$BENCH_DLL" generate "$DATA" --rows "$ROWS" --per-request "$PER_REQUEST" --baseline-rows "$BASELINE_ROWS" --seed "$SEED" >"$WORK/generated.json.tmp" \
        || die "DriftBench generate failed"
    mv "$WORK/generated.json.tmp" "$DATA/generated.json"
fi
GENERATED="$(cat "$DATA/generated.json")"
cp "$DATA/generated.json" "$WORK/generated.json"

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
# A shared machine: wait (up to QUIET_WAIT seconds) for other work, a build or a test run say, to finish first. Quiet
# means under 20% busy for three 2-second looks in a row: a test suite pauses for a second or two between tests, and a
# side started in such a pause measured beside 60% other CPU (the cold computation, JIT included, took 3× as long).
wait_for_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) t0 t1 busy calm=0
    while true; do
        t0="$(system_ticks)"; sleep 2; t1="$(system_ticks)"
        busy="$(awk -v a="$t0" -v b="$t1" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }')"
        if (( busy < 20 )); then
            calm=$((calm + 1))
            (( calm >= 3 )) && return 0
            continue
        fi
        calm=0
        if (( SECONDS >= deadline )); then
            log "the machine is still $busy% busy after ${QUIET_WAIT} s; measuring anyway (see the other-CPU column)"
            return 0
        fi
        log "the machine is $busy% busy with other work; waiting for it to go quiet"
    done
}
json_field() { # json name -> a number, or a string's content (no escaped quotes in ours)
    sed -n -e "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p;t" -e "s/.*\"$2\": *\\([-0-9.eE+]*\\).*/\\1/p" <<<"$1"
}
# run_side <side> <tag>: prints "cold warm rows requests maxrss_kb other%" and keeps the JSON line and the report.
# The database file is read (cat) right before every run, so every side starts from a warm page cache alike.
run_side() {
    local side="$1" tag="$2" out timing sys0 sys1 c0 c1 other json maxrss
    out="$WORK/$tag.json"
    timing="$WORK/$tag.time.txt"
    local -a cmd
    case "$side" in
        gureum) cmd=(dotnet "$BENCH_DLL" gureum "$DATA" --runs "$RUNS" --report "$WORK/$tag.report.json") ;;
        peer) cmd=("$PY" bench/drift/peer.py "$DB" --runs "$PEER_RUNS" --report "$WORK/$tag.report.json") ;;
        raw) cmd=(dotnet "$BENCH_DLL" raw "$DATA" --runs "$RUNS") ;;
        read) cmd=(dotnet "$BENCH_DLL" read "$DATA" --runs "$RUNS") ;;
    esac
    cat "$DB" "$DB-wal" >/dev/null 2>&1 || true
    sys0="$(system_ticks)"
    read_children_ticks; c0="$CHILD_TICKS"
    if ! timeout "$SIDE_TIMEOUT" /usr/bin/time -v -o "$timing" "${cmd[@]}" >"$out" 2>"$WORK/$tag.log"; then
        tail -n 30 "$WORK/$tag.log" >&2
        die "$side failed (or ran past SIDE_TIMEOUT=${SIDE_TIMEOUT}s); see bench/results/drift/$tag.log"
    fi
    read_children_ticks; c1="$CHILD_TICKS"
    sys1="$(system_ticks)"
    other="$(awk -v s0="$sys0" -v s1="$sys1" -v own=$((c1 - c0)) 'BEGIN {
        split(s0, a, " "); split(s1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
        o = total > 0 ? 100 * (busy - own) / total : 0; printf "%.1f", o < 0 ? 0 : o }')"
    json="$(tail -n 1 "$out")"
    cat "$out" >>"$WORK/results.txt"
    maxrss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$timing")"
    [[ -n "$maxrss" ]] || die "no peak RSS in the /usr/bin/time output for $tag"
    printf '%s %s %s %s %s %s\n' "$(json_field "$json" cold_seconds)" "$(json_field "$json" warm_seconds)" "$(json_field "$json" rows)" \
        "$(json_field "$json" requests)" "$maxrss" "$other"
}
median() { # numbers on stdin -> median
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A COLD WARM PEAK OTHER ROWS_OF REQUESTS_OF
for round in $(seq 1 "$ROUNDS"); do
    for side in "${SIDES[@]}"; do
        wait_for_quiet
        tag="$side-$round"
        read -r cold warm rows requests maxrss other <<<"$(run_side "$side" "$tag")"
        [[ -n "$other" ]] || die "$side gave no result"
        COLD[$side]="${COLD[$side]:-} $cold"
        WARM[$side]="${WARM[$side]:-} $warm"
        OTHER[$side]="${OTHER[$side]:-} $other"
        ROWS_OF[$side]="$rows"; REQUESTS_OF[$side]="$requests"
        if (( maxrss > ${PEAK[$side]:-0} )); then PEAK[$side]="$maxrss"; fi
        log "round $round  $(printf '%-6s' "$side")  cold ${cold} s  warm ${warm} s  rows $rows  peak RSS $((maxrss / 1024)) MB  (other processes: $other% CPU)"
    done
done
[[ "${ROWS_OF[gureum]}" == "${ROWS_OF[peer]}" ]] || die "Gureum counted ${ROWS_OF[gureum]} rows, the peer ${ROWS_OF[peer]}"

# Gureum and the peer must report the same drift: every column's PSI, KS, chi-square, unseen share, missing rates,
# values counted and severity, and the prediction's PSI.
AGREEMENT="$("$PY" - "$WORK/gureum-$ROUNDS.report.json" "$WORK/peer-$ROUNDS.report.json" <<'PYEOF'
import json, sys
g = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
ours = {f["name"]: f for f in g["features"]}
fields, differing, worst = 0, [], 0.0
for f in p["features"]:
    for k, v in f.items():
        if k == "name":
            continue
        fields += 1
        if v != ours[f["name"]][k]:
            differing.append(f'{f["name"]}.{k}')
            if isinstance(v, (int, float)):
                worst = max(worst, abs(v - ours[f["name"]][k]))
fields += 1
if g["prediction"]["psi"] != p["prediction_psi"]:
    differing.append("prediction.psi")
    worst = max(worst, abs(g["prediction"]["psi"] - p["prediction_psi"]))
order = [f["name"] for f in g["features"]] == [f["name"] for f in p["features"]]
print(f"{fields} {len(differing)} {worst:g} {'yes' if order else 'no'} {','.join(differing[:10]) or '-'}")
PYEOF
)" || die "could not compare the reports"
read -r agree_fields agree_diff agree_worst agree_order agree_list <<<"$AGREEMENT"

# ---------------------------------------------------------------------------------------------- record
cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
dotnet_version="$(dotnet --version 2>/dev/null || echo unknown)"
py_version="$("$PY" -c 'import platform, pandas, numpy; print(f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}")')"
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
mb() { awk -v v="$1" 'BEGIN { printf "%.0f", v / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
declare -A MED_COLD MED_WARM
for side in "${SIDES[@]}"; do
    # shellcheck disable=SC2086
    MED_COLD[$side]="$(printf '%s\n' ${COLD[$side]} | median)"
    # shellcheck disable=SC2086
    MED_WARM[$side]="$(printf '%s\n' ${WARM[$side]} | median)"
done
input_mb="$(awk -v b="$(json_field "$GENERATED" input_bytes)" 'BEGIN { printf "%.0f", b / 1e6 }')"
output_mb="$(awk -v b="$(json_field "$GENERATED" output_bytes)" 'BEGIN { printf "%.0f", b / 1e6 }')"
goal_ok="$(awk -v s="${MED_COLD[gureum]}" -v g="$GOAL_SECONDS" 'BEGIN { print (s < g ? "**met**" : "**not met**") }')"
flagged="$(json_field "$(tail -n 1 "$WORK/gureum-$ROUNDS.json")" flagged)"
{
    echo
    echo "## drift: drift report over $ROWS logged rows × 30 features (Gureum vs pandas vs raw read + parse) — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Machine: $(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $dotnet_version; $py_version (Debian \`python3-pandas\`)"
    echo "- Commit: \`$commit\`"
    echo "- Command: \`$invocation\`"
    echo "- Data (\`DriftBench generate\`, seed $SEED): a Gureum SQLite database with $ROWS rows logged as ${REQUESTS_OF[gureum]} prediction samples of $PER_REQUEST records (the server's sample shape: the request body \`{\"records\": [...]}\`, $input_mb MB in all, and the answer \`{\"predictions\": [{\"label\", \"probability\"}]}\`, $output_mb MB); 20 numeric columns (normal, log-normal, whole, bimodal; some 2% null) and 10 categorical (2 to 20 values, skewed); the baseline is the profile of a $BASELINE_ROWS-row CSV of the same columns read by \`DatasetReader\`, and an AutoML-kind model version with a training report (confusion matrix). Four columns drift on purpose; Gureum flagged: \`$flagged\`."
    echo "- Gureum: \`dotnet $BENCH_DLL gureum DIR --runs $RUNS\` — \`Drift.ComputeAsync\` (what \`GET /v1/projects/{p}/endpoints/{name}/drift\` runs, without HTTP), default \`DriftOptions\` (MaxRows 2 000 000, one parse worker per core), server GC. _cold_: the first computation in a fresh process (JIT included), as the first drift request after a server start; _warm_: the median of the $((RUNS - 1)) repeats in the same process."
    echo "- peer: \`/usr/bin/python3 bench/drift/peer.py DB --runs $PEER_RUNS\` — the same report from the same database with \`json.loads\` per sample, \`pandas.DataFrame.from_records\`, \`np.searchsorted\` / \`value_counts\`, same formulas, epsilon and rounding (its first run is quoted as both cold and warm when PEER_RUNS=1)."
    echo "- raw (the limit): \`dotnet $BENCH_DLL raw DIR\` — the same rows in the same order (\`ORDER BY At DESC, Id DESC\` off the endpoint/time index) read as UTF-8 bytes on one thread, and every JSON token of every input and output read by \`Utf8JsonReader\` on as many worker threads as Gureum uses; nothing counted. read: the database read alone."
    echo "- Each side is a fresh process per round under \`/usr/bin/time -v\` (peak RSS = \"Maximum resident set size\", the whole process); the database file is read once (\`cat\`, not timed) before every run so all start from a warm page cache; rounds alternate gureum / peer / raw / read after waiting for the machine to be quiet; medians of $ROUNDS round(s) are quoted. _s_ are timed in-process from opening the database to the report."
    echo
    echo "| side | cold s (median) | warm s (median) | rows/s (warm) | peak RSS (MB) | cold s per round | warm s per round | other CPU per round |"
    echo "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |"
    for side in "${SIDES[@]}"; do
        label="$side"; [[ "$side" == gureum ]] && label="**Gureum**"
        rows_per_s="-"
        [[ "$side" != read ]] && rows_per_s="$(awk -v r="${ROWS_OF[$side]}" -v s="${MED_WARM[$side]}" 'BEGIN { printf "%.0f", r / s }')"
        per_cold="$(for v in ${COLD[$side]}; do printf '%s, ' "$(fmt "$v" 2)"; done)"
        per_warm="$(for v in ${WARM[$side]}; do printf '%s, ' "$(fmt "$v" 2)"; done)"
        other_round="$(for v in ${OTHER[$side]}; do printf '%s%%, ' "$v"; done)"
        echo "| $label | $(fmt "${MED_COLD[$side]}" 2) | $(fmt "${MED_WARM[$side]}" 2) | $rows_per_s | $(mb "${PEAK[$side]}") | ${per_cold%, } | ${per_warm%, } | ${other_round%, } |"
    done
    echo
    echo "Goal: Gureum's cold computation over $ROWS rows × 30 features under $GOAL_SECONDS s: **$(fmt "${MED_COLD[gureum]}" 2) s**, $goal_ok (warm $(fmt "${MED_WARM[gureum]}" 2) s)."
    echo "Gureum vs the peer: **$(ratio "${MED_COLD[peer]}" "${MED_COLD[gureum]}")× faster** cold, **$(ratio "${MED_WARM[peer]}" "${MED_WARM[gureum]}")×** warm."
    echo "Gureum vs the limit: raw / Gureum time **$(ratio "${MED_WARM[raw]}" "${MED_WARM[gureum]}")** warm ($(ratio "${MED_COLD[raw]}" "${MED_COLD[gureum]}") cold): Gureum reaches that share of the read-and-tokenize speed; the database read alone takes $(fmt "${MED_WARM[read]}" 2) s warm."
    echo "Agreement: of $agree_fields figures the peer computed (PSI, KS, chi-square, unseen share, missing rates, values counted, severity per column; the prediction's PSI), $agree_diff differ from Gureum's (largest difference $agree_worst; $agree_list); same order of columns: $agree_order."
} >>"$DOC"
log "appended to ${DOC#"$ROOT"/}"
