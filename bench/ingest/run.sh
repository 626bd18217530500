#!/usr/bin/env bash
# Benchmark: dataset ingest + schema inference + profile, in MB/s, on diamonds.csv and a generated CSV
# (1 GB by default). Four sides in the same run, alternating, each a fresh process under /usr/bin/time -v:
#   Gureum       bench/Ingest `gureum FILE`: DatasetReader.AnalyzeAsync (format, schema, profile) after the
#                reader's warm-up, as in the server (which warms it up once after start)  - the peer under test
#   Gureum cold  bench/Ingest `gureum-cold FILE`: the same in a fresh process, no warm-up   - shown alongside
#   pandas       bench/ingest/peer.py: pandas.read_csv + describe(include="all") (Debian python3-pandas) - the peer to match
#   raw          bench/Ingest `raw FILE`: the same bytes split into lines and fields, vectorized       - the limit
# The medians of the rounds, the peak RSS of each side and the ratios are appended, with the exact command,
# to docs/benchmarks.md, with the goals checked: Gureum >= 1x pandas, >= 0.4x raw, RSS growth < 300 MB.
#
# Usage: bash bench/ingest/run.sh
# Knobs (environment): ROUNDS=3 (diamonds) BIG_ROUNDS=3 (generated file) SIZE_MB=1024 QUIET_WAIT=120
#                      SIDE_TIMEOUT=900 CACHE_DIR=/tmp/gureum-bench-ingest DOC=docs/benchmarks.md
set -euo pipefail

# The command as it was typed (knobs that were set included), for the record.
invocation="bash bench/ingest/run.sh"
for knob in DOC CACHE_DIR SIDE_TIMEOUT QUIET_WAIT SIZE_MB BIG_ROUNDS ROUNDS; do
    if [[ -n "${!knob:-}" ]]; then
        invocation="$knob=${!knob} $invocation"
    fi
done

ROUNDS="${ROUNDS:-3}"
BIG_ROUNDS="${BIG_ROUNDS:-3}"
SIZE_MB="${SIZE_MB:-1024}"
QUIET_WAIT="${QUIET_WAIT:-120}"
SIDE_TIMEOUT="${SIDE_TIMEOUT:-900}"
export CACHE_DIR="${CACHE_DIR:-/tmp/gureum-bench-ingest}"
RSS_GOAL_MB=300

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DOC="${DOC:-$ROOT/docs/benchmarks.md}"
PY=/usr/bin/python3
DIAMONDS="$ROOT/../shared/testdata/datasets/diamonds.csv"

log() { printf '[ingest] %s\n' "$*" >&2; }
die() { printf '[ingest] FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y "$@" >/dev/null
    fi
}
[[ -x /usr/bin/time ]] || { log "installing time"; apt_install time; }
"$PY" -c 'import pandas' 2>/dev/null || { log "installing python3-pandas"; apt_install python3-pandas; }
command -v dotnet >/dev/null 2>&1 || die "dotnet is required"
[[ -f "$DIAMONDS" ]] || die "$DIAMONDS not found (the shared test data sits next to the repository)"

WORK="$(mktemp -d /tmp/gureum-bench-ingest-run.XXXXXX)"
cleanup() {
    mkdir -p "$ROOT/bench/results/ingest"
    cp "$WORK"/*.log "$WORK"/*.txt "$ROOT/bench/results/ingest/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------- build
log "building bench/Ingest (Release; builds src/Gureum.ML from the working tree)"
built=""
for attempt in 1 2 3; do
    if dotnet build -c Release -nologo -v quiet bench/Ingest/Ingest.csproj >"$WORK/build.log" 2>&1; then
        built=1
        break
    fi
    log "build failed (attempt $attempt; the tree may be mid-edit), retrying in 60 s"
    tail -n 20 "$WORK/build.log" >&2
    sleep 60
done
[[ -n "$built" ]] || die "bench/Ingest does not build; see bench/results/ingest/build.log"
INGEST_DLL="bench/Ingest/bin/Release/net10.0/Ingest.dll"
[[ -f "$INGEST_DLL" ]] || die "$INGEST_DLL not found after the build"

# ---------------------------------------------------------------------------------------------- data
log "ensuring the generated ${SIZE_MB} MB file (cached in $CACHE_DIR)"
GENERATED="$(SIZE_MB="$SIZE_MB" "$PY" bench/ingest/generate.py)"
[[ -f "$GENERATED" ]] || die "generate.py did not produce a file"
FILES=("$DIAMONDS" "$GENERATED")
declare -A FILE_ROUNDS=(["$DIAMONDS"]="$ROUNDS" ["$GENERATED"]="$BIG_ROUNDS")

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

json_field() { # json name -> a number, or a string's content (no escaped quotes in ours)
    sed -n -e "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p;t" -e "s/.*\"$2\": *\\([-0-9.eE+]*\\).*/\\1/p" <<<"$1"
}

# run_side <side> <file> <tag>: prints "mbps seconds rows columns maxrss_kb rss0_kb other% disk_mb warm_mbps" (warm_mbps:
# Gureum's repeated analysis in the same process, "-" for the other sides), and keeps the JSON.
# The file is read (cat) right before every run: a previous run (pandas holds ~4x the file in memory) or other work
# on the machine can push it out of the page cache, and a side that then reads from disk would be measured unfairly.
# disk_mb ("File system inputs" of /usr/bin/time, 512-byte blocks) shows what the run still read from disk.
run_side() {
    local side="$1" file="$2" tag="$3" out timing sys0 sys1 c0 c1 other json maxrss disk
    out="$WORK/$tag.json"
    timing="$WORK/$tag.time.txt"
    local -a cmd
    case "$side" in
        gureum) cmd=(dotnet "$INGEST_DLL" gureum "$file") ;;
        gureum-cold) cmd=(dotnet "$INGEST_DLL" gureum-cold "$file") ;;
        raw) cmd=(dotnet "$INGEST_DLL" raw "$file") ;;
        pandas) cmd=("$PY" bench/ingest/peer.py "$file") ;;
    esac
    cat "$file" >/dev/null
    sys0="$(system_ticks)"
    read_children_ticks; c0="$CHILD_TICKS"
    if ! timeout "$SIDE_TIMEOUT" /usr/bin/time -v -o "$timing" "${cmd[@]}" >"$out" 2>"$WORK/$tag.log"; then
        tail -n 30 "$WORK/$tag.log" >&2
        die "$side failed on $(basename "$file") (or ran past SIDE_TIMEOUT=${SIDE_TIMEOUT}s); see bench/results/ingest/$tag.log"
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
    disk="$(awk -F': ' '/File system inputs/ { printf "%.0f", $2 * 512 / 1e6 }' "$timing")"
    local warm
    warm="$(json_field "$json" warm_mbps)"
    printf '%s %s %s %s %s %s %s %s %s\n' "$(json_field "$json" mbps)" "$(json_field "$json" seconds)" \
        "$(json_field "$json" rows)" "$(json_field "$json" columns)" "$maxrss" "$(json_field "$json" rss0_kb)" "$other" "${disk:-0}" "${warm:--}"
}

median() { # numbers on stdin -> median
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

SIDES=(gureum gureum-cold pandas raw)
declare -A MBPS SECS ROWS COLS PEAK GROWTH OTHER DISK TYPES WARM
for file in "${FILES[@]}"; do
    name="$(basename "$file")"
    for round in $(seq 1 "${FILE_ROUNDS[$file]}"); do
        for side in "${SIDES[@]}"; do
            wait_for_quiet
            tag="${name%.csv}-$side-$round"
            read -r mbps secs rows cols maxrss rss0 other disk warm <<<"$(run_side "$side" "$file" "$tag")"
            [[ -n "$disk" ]] || die "$side on $name gave no result"
            key="$file|$side"
            MBPS[$key]="${MBPS[$key]:-} $mbps"
            SECS[$key]="${SECS[$key]:-} $secs"
            OTHER[$key]="${OTHER[$key]:-} $other"
            DISK[$key]="${DISK[$key]:-} $disk"
            if [[ "$warm" != - ]]; then WARM[$key]="${WARM[$key]:-} $warm"; fi
            ROWS[$key]="$rows"; COLS[$key]="$cols"
            if (( maxrss > ${PEAK[$key]:-0} )); then PEAK[$key]="$maxrss"; fi
            growth=$((maxrss - rss0))
            if (( growth > ${GROWTH[$key]:-0} )); then GROWTH[$key]="$growth"; fi
            if [[ "$side" == gureum ]]; then TYPES[$file]="$(json_field "$(tail -n 1 "$WORK/$tag.json")" types)"; fi
            if [[ "$side" == pandas ]]; then TYPES["$file|pandas"]="$(json_field "$(tail -n 1 "$WORK/$tag.json")" dtypes)"; fi
            log "$name round $round  $(printf '%-6s' "$side")  $mbps MB/s$([[ "$warm" != - ]] && echo " (warm $warm)")  ${secs} s  rows $rows  peak RSS $((maxrss / 1024)) MB (+$((growth / 1024)))  (other processes: $other% CPU; read from disk: $disk MB)"
        done
    done
done

# ---------------------------------------------------------------------------------------------- record
if [[ ! -s "$DOC" && "$DOC" != /dev/null ]]; then
    mkdir -p "$(dirname "$DOC")"
    cat >"$DOC" <<'HEADER'
# Benchmarks

Each benchmark in `bench/` measures one Gureum path (the peer) and, in the same run on the same
machine, the cheapest thing that could stand in its place (the limit), then appends its numbers here
with the exact command that produced them. Nothing below is edited by hand.
HEADER
fi

cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
mem_total="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty=""
if [[ -n "$(git status --porcelain -- src/Gureum.ML Directory.Build.props Directory.Packages.props 2>/dev/null || true)" ]]; then
    dirty=" (src/Gureum.ML had uncommitted changes: the reader measured is the working tree, not exactly this commit)"
fi
dotnet_version="$(dotnet --version 2>/dev/null || echo unknown)"
py_version="$("$PY" -c 'import platform, pandas, numpy; print(f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}")')"
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
mb() { awk -v v="$1" 'BEGIN { printf "%.0f", v / 1024 }'; }
yes_no() { [[ "$1" == 1 ]] && echo "**met**" || echo "**not met**"; }

{
    echo
    echo "## ingest: dataset ingest + schema + profile (Gureum vs pandas vs raw split) — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Machine: $(nproc) cores, ${cpu_model:-unknown CPU}, ${mem_total:-unknown memory}; .NET SDK $dotnet_version; $py_version (Debian \`python3-pandas\`)"
    echo "- Commit: \`$commit\`$dirty"
    echo "- Command: \`$invocation\`"
    echo "- Gureum: \`dotnet $INGEST_DLL gureum FILE\` — \`DatasetReader.AnalyzeAsync(FileStream(1 MB buffer, SequentialScan), new ReadOptions())\`: format and encoding detection, schema inference, full profile (Release, default GC and JIT settings). It runs after \`DatasetReader.WarmUpAsync\` (generated rows analysed a few times, ~2 s, not timed), which the server runs once in the background after start: the table quotes the first analysis of the file after it, what a user's first upload to a running server gets. The process then repeats the analysis (up to 10 times while under 2 s in all) and the last repeat is the _warm_ figure. Gureum's peak RSS covers all of them (growth is counted from after the warm-up)."
    echo "- Gureum cold: \`dotnet $INGEST_DLL gureum-cold FILE\` — the same analysis as the first thing a fresh process does, no warm-up (the JIT compiles and tiers the reader as it runs): what a one-shot command would get."
    echo "- pandas (the peer to match): \`/usr/bin/python3 bench/ingest/peer.py FILE\` — \`pd.read_csv(FILE)\` + \`df.describe(include=\"all\")\`."
    echo "- raw (the limit): \`dotnet $INGEST_DLL raw FILE\` — the same bytes, same 1 MB reads, split at every delimiter and line end with a vectorized \`IndexOfAny\` (no quotes, no decoding, no values)."
    echo "- Each run is a fresh process under \`/usr/bin/time -v\`; _s_ and _MB/s_ are timed in-process from opening the file to the result (runtime/interpreter start-up and \`import pandas\` excluded, JIT included); MB = 10^6 bytes. Before every run the file is read once (\`cat > /dev/null\`, not timed), so every side reads from a warm page cache alike; the last column shows what a run still read from disk. Rounds alternate Gureum / Gureum cold / pandas / raw; medians are quoted."
    echo "- Peak RSS: the highest \"Maximum resident set size\" over the rounds; growth: peak minus the process's RSS just before it opened the file (the runtime or \`import pandas\` baseline)."
    for file in "${FILES[@]}"; do
        name="$(basename "$file")"
        bytes="$(stat -c %s "$file")"
        echo
        if [[ "$file" == "$GENERATED" ]]; then
            echo "### \`$name\` (generated by \`SIZE_MB=$SIZE_MB bench/ingest/generate.py\`: $(fmt "$((bytes))e-6" 1) MB, ${ROWS[$file|raw]} rows, ${COLS[$file|raw]} columns; ${FILE_ROUNDS[$file]} round(s))"
        else
            echo "### \`$name\` ($(fmt "$((bytes))e-6" 2) MB, ${ROWS[$file|raw]} rows, ${COLS[$file|raw]} columns; ${FILE_ROUNDS[$file]} round(s))"
        fi
        echo
        echo "| side | median MB/s | median s | peak RSS (MB) | RSS growth (MB) | rows | MB/s per round | other CPU per round | MB read from disk per round |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
        declare -A MED_MBPS=()
        for side in "${SIDES[@]}"; do
            key="$file|$side"
            # shellcheck disable=SC2086
            MED_MBPS[$side]="$(printf '%s\n' ${MBPS[$key]} | median)"
            # shellcheck disable=SC2086
            med_s="$(printf '%s\n' ${SECS[$key]} | median)"
            label="$side"; [[ "$side" == gureum ]] && label="**Gureum** (warmed up)"; [[ "$side" == gureum-cold ]] && label="Gureum, cold process"
            per_round="$(for v in ${MBPS[$key]}; do printf '%s, ' "$(fmt "$v" 1)"; done)"
            other_round="$(for v in ${OTHER[$key]}; do printf '%s%%, ' "$v"; done)"
            disk_round="$(for v in ${DISK[$key]}; do printf '%s, ' "$v"; done)"
            echo "| $label | $(fmt "${MED_MBPS[$side]}" 1) | $(fmt "$med_s" 3) | $(mb "${PEAK[$key]}") | $(mb "${GROWTH[$key]}") | ${ROWS[$key]} | ${per_round%, } | ${other_round%, } | ${disk_round%, } |"
        done
        vs_peer="$(awk -v a="${MED_MBPS[gureum]}" -v b="${MED_MBPS[pandas]}" 'BEGIN { printf "%.2f", a / b }')"
        vs_raw="$(awk -v a="${MED_MBPS[gureum]}" -v b="${MED_MBPS[raw]}" 'BEGIN { printf "%.3f", a / b }')"
        peer_ok="$(awk -v r="$vs_peer" 'BEGIN { print (r >= 1 ? 1 : 0) }')"
        raw_ok="$(awk -v r="$vs_raw" 'BEGIN { print (r >= 0.4 ? 1 : 0) }')"
        growth_mb="$(mb "${GROWTH[$file|gureum]}")"
        cold_vs_peer="$(awk -v a="${MED_MBPS[gureum-cold]}" -v b="${MED_MBPS[pandas]}" 'BEGIN { printf "%.2f", a / b }')"
        cold_vs_raw="$(awk -v a="${MED_MBPS[gureum-cold]}" -v b="${MED_MBPS[raw]}" 'BEGIN { printf "%.3f", a / b }')"
        rss_ok=$(( growth_mb < RSS_GOAL_MB ? 1 : 0 ))
        echo
        echo "Gureum / pandas: **${vs_peer}×** (goal ≥ 1×: $(yes_no "$peer_ok")). Gureum / raw: **${vs_raw}×** (goal ≥ 0.4×: $(yes_no "$raw_ok")). Gureum RSS growth: **${growth_mb} MB** (goal < $RSS_GOAL_MB MB: $(yes_no "$rss_ok"))."
        # shellcheck disable=SC2086
        warm_med="$(printf '%s\n' ${WARM[$file|gureum]} | median)"
        warm_round="$(for v in ${WARM[$file|gureum]}; do printf '%s, ' "$(fmt "$v" 1)"; done)"
        echo
        echo "Gureum in a cold process: **${cold_vs_peer}×** pandas, **${cold_vs_raw}×** raw."
        echo
        echo "Gureum warm (repeated in the same process): median **$(fmt "$warm_med" 1) MB/s** (per round: ${warm_round%, }); warm / pandas: **$(awk -v a="$warm_med" -v b="${MED_MBPS[pandas]}" 'BEGIN { printf "%.2f", a / b }')×**, warm / raw: **$(awk -v a="$warm_med" -v b="${MED_MBPS[raw]}" 'BEGIN { printf "%.3f", a / b }')×**."
        if [[ "${ROWS[$file|gureum]}" != "${ROWS[$file|pandas]}" ]]; then
            echo "Row counts differ: Gureum ${ROWS[$file|gureum]}, pandas ${ROWS[$file|pandas]}."
        fi
        echo
        echo "Types: Gureum \`${TYPES[$file]}\`; pandas \`${TYPES[$file|pandas]}\`."
        unset MED_MBPS
    done
} >>"$DOC"

log "appended to ${DOC#"$ROOT"/}"
