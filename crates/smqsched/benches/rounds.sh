#!/usr/bin/env bash
# Run the throughput benchmark ROUNDS times in a row (default 5) and print, per workload, the
# median over the rounds of each executor's criterion median, and the median of the per-round
# ratios. The machine this was written on drifts by tens of percent between runs, so a single
# run's ratio says little; the median over rounds is what BENCHMARKS.md reports.
#
#   bash crates/smqsched/benches/rounds.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds=${1:-5}
target=${CARGO_TARGET_DIR:-target}
cases="independent/100000 matrix/100 matrix/300 chain/10000 chain/100000 fan/100000"

# The criterion median of one executor, in milliseconds.
median_ms() {
    sed -E 's/.*"median":\{[^}]*\},"point_estimate":([0-9.e+-]+).*/\1/' \
        "$target/criterion/$1/$2/$3/new/estimates.json" | awk '{ printf "%.3f", $1 / 1e6 }'
}

# The median of the numbers on standard input.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    cargo bench -q -p smqsched --bench scheduler -- "^(independent|matrix|chain|fan)/" >/dev/null
    for c in $cases; do
        s=$(median_ms "${c%/*}" smqsched "${c#*/}")
        b=$(median_ms "${c%/*}" baseline "${c#*/}")
        echo "$c $s $b" >>"$results"
    done
done

printf '%-20s %12s %12s %8s\n' workload smqsched baseline ratio
for c in $cases; do
    s=$(grep "^$c " "$results" | awk '{ print $2 }' | median)
    b=$(grep "^$c " "$results" | awk '{ print $3 }' | median)
    r=$(grep "^$c " "$results" | awk '{ print $2 / $3 }' | median)
    printf '%-20s %9.2f ms %9.2f ms %7.2fx\n' "$c" "$s" "$b" "$r"
done
