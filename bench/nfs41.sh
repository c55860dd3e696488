#!/bin/bash
# NFSv4.1 counterpart of the kit's seq_nfs.sh / meta_nfs.sh: runs our own 4.1 load generator
# (test/e2e/nfs41-bench.ts, built to dist/) RUNS times and aggregates with the kit's lib/stats.py.
#
# usage: nfs41.sh seq  HOST PORT EXPORT [SIZE_MiB=1024] [RUNS=3]
#        nfs41.sh meta HOST PORT EXPORT [RUNS=3] [nfs_meta-style args: -n 2000 -s 4096 -d 10000 -r 3 -c 16]
#   env: BENCH_KIT (the kit, for lib/stats.py)  NFS41_QD (WRITEs/READs in flight in seq, default 1)
# prints median/_min/_max lines with the kit's figure names.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
[ $# -ge 4 ] || { sed -n 2,8p "$0"; exit 2; }
MODE=$1 HOST=$2 PORT=$3 EXPORT=$4; shift 4
CLIENT=$ROOT/dist/test/e2e/nfs41-bench.js
[ -f "$CLIENT" ] || { echo "$CLIENT missing (npm run build)" >&2; exit 2; }
case $MODE in
  seq)
    SIZE=${1:-1024} RUNS=${2:-3}
    node "$CLIENT" seq --host "$HOST" --port "$PORT" --export "$EXPORT" --size "$SIZE" --runs "$RUNS" --qd "${NFS41_QD:-1}" ;;
  meta)
    RUNS=${1:-3}; [ $# -gt 0 ] && shift
    ARGS=("$@"); [ ${#ARGS[@]} -gt 0 ] || ARGS=(-n 2000 -s 4096 -d 10000 -r 3 -c 16)
    node "$CLIENT" meta --host "$HOST" --port "$PORT" --export "$EXPORT" --runs "$RUNS" "${ARGS[@]}" ;;
  *) echo "mode must be seq or meta" >&2; exit 2;;
esac | tee /dev/stderr | python3 "$KIT/lib/stats.py"
