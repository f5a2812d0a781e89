#!/usr/bin/env bash
# Instructions per record of every contender in benches/icount.rs, counted by callgrind inside
# `measure` only (setup and warm-up excluded). Load on the machine does not change the counts.
# Each cell is "total (without libc memcpy/memmove)": the second number leaves out the byte
# copies that libc does for runtime-sized records (constant-size copies, as in ArrayQueue, are
# inlined and stay in both numbers).
#
#   ring-spsc/benches/icount.sh            # builds the bench binary with cargo, then counts
#   ROUNDS=2000 ring-spsc/benches/icount.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-1000}
batch=32 # BATCH in icount.rs
bin=$(cargo bench -p ring-spsc --bench icount --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*icount[^"]*\)".*/\1/p' | tail -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
contenders=(spsc-k1 spsc-k16 spsc-batch rtrb-chunk rtrb-batch crossbeam)
printf '%8s' "Ir/rec"
printf '%16s' "${contenders[@]}"
echo
for len in 16 256 4096; do
    printf '%7sB' "$len"
    for c in "${contenders[@]}"; do
        ICOUNT="$c:$len:$rounds" valgrind --tool=callgrind --toggle-collect='*measure*' \
            --callgrind-out-file="$out/cg" "$bin" >/dev/null 2>"$out/log"
        ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log")
        copy=$(callgrind_annotate --auto=no "$out/cg" 2>/dev/null |
            awk '/__mem(cpy|move)/ && !/=>/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
        printf '%16s' "$(printf '%.1f (%.1f)' "$(echo "$ir / ($rounds * $batch)" | bc -l)" \
            "$(echo "($ir - $copy) / ($rounds * $batch)" | bc -l)")"
    done
    echo
done
