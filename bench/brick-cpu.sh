#!/bin/bash
# CPU per MiB of a distributed-volume write, per process: the gateway and 3 brick processes on
# loopback, replica R, one nfs-cp of SIZE MiB (1 MiB UNSTABLE WRITEs, QD1, COMMIT on close), as in
# bench/run.sh's replicaN targets. Prints wall MiB/s and, for each process, CPU ms per client MiB
# (utime+stime from /proc/PID/stat, user and system apart). CPU time is what a loaded 2-core machine
# rations, so it compares builds more steadily than MiB/s.
#
# usage: bash bench/brick-cpu.sh [--replicas "1 3"] [--size MiB] [--rounds N] [--perf DIR] [--read]
#   --read: then read the file back once (nfs-cat > /dev/null) and print the same figures for the read
#   --perf DIR: also `perf record -g` brick 1 and the gateway during each write (DIR/<r>-<round>.*.data)
#   BRICK_ARGS: extra arguments for the brick command (e.g. "--max-payload 4194304").
#   Takes $GW_BENCH_DIR/.bench-run.lock like bench/run.sh (one benchmark on the machine at a time).
#   Ports: NFS 23249, MOUNT 23248, bricks 23201-23203.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BW=${GW_BENCH_DIR:-/var/tmp/gw-bench}
REPLICAS="1 3" SIZE=256 ROUNDS=1 PERF= READ=
while [ $# -gt 0 ]; do
  case $1 in
    --replicas) REPLICAS=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    --rounds) ROUNDS=$2; shift 2;;
    --perf) PERF=$2; mkdir -p "$PERF"; shift 2;;
    --read) READ=1; shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
HOST=127.0.0.1 NFS=23249 MNT=23248
export LD_LIBRARY_PATH=$BW/libnfs5/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
SRC=$BW/tmp/bench-seq-src-${SIZE}M
mkdir -p "$BW/tmp"
[ -f "$SRC" ] && [ "$(stat -c %s "$SRC")" = $((SIZE * 1048576)) ] || dd if=/dev/urandom of="$SRC" bs=1M count="$SIZE" status=none
cat "$SRC" > /dev/null
WORK=$(mktemp -d "$BW/brick-cpu.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
exec 8> "$BW/.bench-run.lock"
flock 8
listening() { ss -Hltn "( sport = :$1 )" | grep -q .; }
wait_port() { local i; for i in $(seq 150); do listening "$1" && return 0; sleep 0.2; done; echo "port $1 not listening" >&2; return 1; }
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }   # utime stime in clock ticks
HZ=$(getconf CLK_TCK)
# One figure line: wall MiB/s from t0/t1, CPU ms per client MiB per process from the before/after samples.
report() {
  local line k u0 s0 u1 s1
  line="$1 MiBps $(python3 -c "print(f'{$SIZE/($t1-$t0):.1f}')")"
  for k in 0 1 2 3; do
    read -r u0 s0 <<<"${before[$k]}"; read -r u1 s1 <<<"${after[$k]}"
    line+=" ${names[$k]} $(python3 -c "u=($u1-$u0)*1000/$HZ/$SIZE; s=($s1-$s0)*1000/$HZ/$SIZE; print(f'{u+s:.2f}ms/MiB(u{u:.2f}+s{s:.2f})')")"
  done
  echo "$line load $(cut -d' ' -f1 /proc/loadavg)"
}

for round in $(seq "$ROUNDS"); do
  for r in $REPLICAS; do
    rm -rf "${WORK:?}"/*
    trap 'cat "$WORK"/*.log >&2 2>/dev/null; cleanup' ERR
    PIDS=() bricks=()
    for i in 1 2 3; do
      mkdir -p "$WORK/b$i"
      (cd "${BRICK_ROOT:-$ROOT}" && exec node ${BRICK_NODE_ARGS:-} dist/gateway/main.js brick --dir "$WORK/b$i" --listen "$HOST:$((23200 + i))" --log-level warn ${BRICK_ARGS:-}) > "$WORK/brick$i.log" 2>&1 8>&- &
      PIDS+=($!)
      bricks+=("{\"id\":\"b$i\",\"address\":\"$HOST:$((23200 + i))\"}")
    done
    for i in 1 2 3; do wait_port $((23200 + i)); done
    printf '{"volumes":[{"name":"data","dataDir":"%s","replica":%s,"bricks":[%s]}],"exports":[{"name":"data","volume":"data"}],"smb":{"enabled":false}}\n' \
      "$WORK/gw" "$r" "$(IFS=,; echo "${bricks[*]}")" > "$WORK/cfg.json"
    (cd "$ROOT" && exec node ${GW_NODE_ARGS:-} dist/gateway/main.js serve --config "$WORK/cfg.json" --listen $HOST --nfs-port $NFS --mount-port $MNT --portmap off --log-level warn) > "$WORK/gw.log" 2>&1 8>&- &
    PIDS+=($!)
    wait_port $NFS; wait_port $MNT
    sync; sleep 1
    names=(brick1 brick2 brick3 gateway)
    declare -A before=()
    for k in 0 1 2 3; do before[$k]=$(cpu "${PIDS[$k]}"); done
    perfpids=()
    if [ -n "$PERF" ]; then
      perf record -g -F 999 -o "$PERF/r$r-$round.brick1.data" -p "${PIDS[0]}" > /dev/null 2>&1 8>&- & perfpids+=($!)
      perf record -g -F 999 -o "$PERF/r$r-$round.gateway.data" -p "${PIDS[3]}" > /dev/null 2>&1 8>&- & perfpids+=($!)
      sleep 0.5
    fi
    t0=$(date +%s.%N)
    "$BW/libnfs5/bin/nfs-cp" "$SRC" "nfs://$HOST/data/f?nfsport=$NFS&mountport=$MNT&version=3" > /dev/null
    t1=$(date +%s.%N)
    declare -A after=()
    for k in 0 1 2 3; do after[$k]=$(cpu "${PIDS[$k]}"); done
    for p in "${perfpids[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${DEBUG:-}" ] && { declare -p before after; echo "${PIDS[*]}"; }
    report "replica$r round$round"
    if [ -n "$READ" ]; then
      for k in 0 1 2 3; do before[$k]=$(cpu "${PIDS[$k]}"); done
      t0=$(date +%s.%N)
      "$BW/libnfs5/bin/nfs-cat" "nfs://$HOST/data/f?nfsport=$NFS&mountport=$MNT&version=3" > /dev/null
      t1=$(date +%s.%N)
      for k in 0 1 2 3; do after[$k]=$(cpu "${PIDS[$k]}"); done
      report "replica$r round$round read"
    fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
  done
done
