#!/usr/bin/env bash
# Which ONNX Runtime set-up makes the fastest limit on this machine? For the MLP and the CNN, with 64 closed-loop
# clients and batches of 1 and of up to 32 rows, runs bench/ServingLimit with each set-up below, alternating, ROUNDS
# times, and prints the median rows/s and p99 of each. run.sh uses the winner (on 2 cores: one session shared by
# min(C, cores) workers, 1 intra-op thread; see bench/README.md). Nothing is written to docs/.
#
# Usage: bash bench/serving/limit-configs.sh      Knobs: ROUNDS=3 DURATION=5 QUIET_WAIT=120
set -euo pipefail
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
QUIET_WAIT="${QUIET_WAIT:-120}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
M="$ROOT/../shared/testdata/models"
DLL=bench/ServingLimit/bin/Release/net10.0/ServingLimit.dll
log() { printf '[limit-configs] %s\n' "$*" >&2; }
command -v jq >/dev/null 2>&1 || apt-get install -y jq >/dev/null
dotnet build -c Release -nologo -v quiet bench/ServingLimit/ServingLimit.csproj >/dev/null || { log "build failed"; exit 1; }

CONFIGS=(
    "--sessions shared --intra 1"
    "--sessions per-worker --intra 1"
    "--workers 1 --intra 2 --spin 1"
    "--workers 1 --intra 2 --spin 0"
    "--sessions shared --intra 2 --spin 0"
)
busy() { # percent of the machine busy over 2 s
    local a b
    a="$(awk '/^cpu / { b = $2 + $3 + $4 + $9; print b, b + $5 + $6 + $7 + $8 }' /proc/stat)"; sleep 2
    b="$(awk '/^cpu / { b = $2 + $3 + $4 + $9; print b, b + $5 + $6 + $7 + $8 }' /proc/stat)"
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
wait_for_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) b
    while b="$(busy)"; (( b >= 20 )); do
        (( SECONDS >= deadline )) && { log "still $b% busy after $QUIET_WAIT s; measuring anyway"; return; }
    done
}
OUT="$(mktemp /tmp/gureum-limit-configs.XXXXXX)"
for round in $(seq 1 "$ROUNDS"); do
    for model in mlp mobilenet_v3_small; do
        for batch in 1 32; do
            for i in "${!CONFIGS[@]}"; do
                wait_for_quiet
                # shellcheck disable=SC2086
                dotnet "$DLL" run --model "$M/$model.onnx" --input "$M/$model.reference.json" --clients 64 --max-batch "$batch" \
                    --duration "$DURATION" --warmup 2 ${CONFIGS[$i]} \
                    | jq -c --arg model "$model" --argjson batch "$batch" --argjson config "$i" \
                        '{model: $model, batch: $batch, config: $config, rows: .rowsPerSec, p99: .p99Ms, cores: .cpuCores}' >>"$OUT"
                log "round $round $model batch<=$batch [${CONFIGS[$i]}]: $(tail -n 1 "$OUT" | jq -r '"\(.rows | floor) rows/s, p99 \(.p99 * 1000 | floor / 1000) ms"')"
            done
        done
    done
done
printf '| model | batch | set-up | rows/s (median) | p99 ms (median) | cores |\n| --- | ---: | --- | ---: | ---: | ---: |\n'
for model in mlp mobilenet_v3_small; do
    for batch in 1 32; do
        for i in "${!CONFIGS[@]}"; do
            jq -s -r --arg model "$model" --argjson batch "$batch" --argjson config "$i" --arg name "${CONFIGS[$i]}" '
                def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
                [.[] | select(.model == $model and .batch == $batch and .config == $config)] as $r
                | "| \($model) | \($batch) | `\($name)` | \($r | map(.rows) | med | floor) | \($r | map(.p99) | med * 1000 | floor / 1000) | \($r | map(.cores) | med * 100 | floor / 100) |"' "$OUT"
        done
    done
done
rm -f "$OUT"
