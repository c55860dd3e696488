#!/bin/bash
# npm run bench — NFSv3 slice: the gateway against NFS-Ganesha, on loopback, one
# target after the other (never concurrently), with the shared benchmark kit
# ($ROOT/../shared/bench: seq_nfs.sh, meta_nfs.sh, servers/ganesha-*.sh).
#
# usage: bash bench/run.sh [--targets gateway,ganesha,replica1,replica3,redis] [--size MiB] [--runs N]
#                          [--meta-runs N] [--no-build] [--sequential]
#        A gateway target and its peer (gateway+ganesha, nfs4+ganesha4, smb+samba) run interleaved: both
#        servers up, each workload alternating between them one run at a time; --sequential (or
#        BENCH_SEQUENTIAL=1) runs one target after the other instead.
#        npm run bench -- --size 64 --runs 1          (quick iteration)
# env:   BENCH_SIZE_MIB (1024)  BENCH_RUNS (3)  BENCH_META_RUNS (= BENCH_RUNS)
#        BENCH_TARGETS (gateway,ganesha,nfs4,ganesha4,replica1,replica3,redis,smb,samba)  BENCH_NO_BUILD=1  BENCH_STEP_TIMEOUT (1800 s)
#        replica1/replica3: the gateway over 3 local brick processes (distributed volume, sequential
#        test only), with network bytes to/from the bricks per client byte
#        redis: the small-file workload (meta test only) with the volume's metadata in a local
#        redis-server (appendonly yes, appendfsync always); compared with the gateway target (embedded)
#        nfs4/ganesha4: NFSv4 — the gateway / Ganesha, each with the sequential and small-file workloads
#        over 4.0 (libnfs 5.0.2: seq_nfs.sh/meta_nfs.sh ... 4) and 4.1 (our client: bench/nfs41.sh)
#        smb/samba: SMB — the gateway / Samba's smbd (kit's servers/samba-start.sh), each with 1 GiB put+get
#        by smbclient at SMB3.1.1 plain and sealed (bench/smb.sh) and the small-file workload (meta_smb.sh);
#        bench/smb-targets.sh. BENCH_GW_SMB_PORT (23445)  BENCH_SMB_META_ARGS ("-n 2000 -b 4096 -d 10000 -r 3 -c 16 -m SMB3")
#        BENCH_META_ARGS ("-n 2000 -s 4096 -d 10000 -r 3 -c 16")
#        BENCH_GW_NFS_PORT (23049)  BENCH_GW_MOUNT_PORT (23048)
#        BENCH_GA_NFS_PORT (22049)  BENCH_GA_MOUNT_PORT (22048): only with a BENCH_KIT copy whose ganesha.conf uses them
#        GW_BENCH_DIR (/var/tmp/gw-bench: tools, scratch)  BENCH_KIT ($ROOT/../shared/bench)
# stdout: "name value" lines (see docs/bench.md); everything raw goes to
#         bench/results/<timestamp>/. Exit status is non-zero if any step failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
export GW_BENCH_DIR=${GW_BENCH_DIR:-/var/tmp/gw-bench}
BW=$GW_BENCH_DIR
SIZE=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
META_RUNS=${BENCH_META_RUNS:-}
TARGETS=${BENCH_TARGETS:-gateway,ganesha,nfs4,ganesha4,replica1,replica3,redis,smb,samba}
BUILD=1; [ "${BENCH_NO_BUILD:-0}" = 1 ] && BUILD=0
INTERLEAVE=1; [ "${BENCH_SEQUENTIAL:-0}" = 1 ] && INTERLEAVE=0
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-1800}
META_ARGS=${BENCH_META_ARGS:--n 2000 -s 4096 -d 10000 -r 3 -c 16}
HOST=127.0.0.1
GW_PORT=${BENCH_GW_NFS_PORT:-23049} GW_MPORT=${BENCH_GW_MOUNT_PORT:-23048} GW_EXPORT=/data
GA_PORT=${BENCH_GA_NFS_PORT:-22049} GA_MPORT=${BENCH_GA_MOUNT_PORT:-22048} GA_EXPORT=/export   # must match the kit's ganesha.conf (a BENCH_KIT copy may move them)

usage() { sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --targets) TARGETS=$2; shift;;
    --size) SIZE=$2; shift;;
    --runs) RUNS=$2; shift;;
    --meta-runs) META_RUNS=$2; shift;;
    --no-build) BUILD=0;;
    --sequential) INTERLEAVE=0;;
    -h|--help) usage 0;;
    *) echo "unknown argument: $1" >&2; usage;;
  esac
  shift
done
META_RUNS=${META_RUNS:-$RUNS}
for v in SIZE RUNS META_RUNS GW_PORT GW_MPORT STEP_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer (got '${!v}')" >&2; exit 2; }
done
TARGET_LIST=()
IFS=', ' read -r -a _t <<<"$TARGETS"
for t in "${_t[@]}"; do
  case $t in gateway|ganesha|replica1|replica3|redis|nfs4|ganesha4|smb|samba) TARGET_LIST+=("$t");; '') ;; *) echo "unknown target: $t" >&2; exit 2;; esac
done
[ ${#TARGET_LIST[@]} -gt 0 ] || { echo "no targets" >&2; exit 2; }
[ -x "$KIT/seq_nfs.sh" ] || { echo "benchmark kit not found at $KIT (set BENCH_KIT)" >&2; exit 2; }
KIT=$(cd "$KIT" && pwd)

mkdir -p "$BW"
TS=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results/$TS
[ -e "$OUT" ] && OUT=$OUT-$$
mkdir -p "$OUT"
WORK=$BW/run-$TS-$$          # server data dirs for this run; removed at exit
mkdir -p "$WORK"

log() { printf '== %s\n' "$*" | tee -a "$OUT/run.log" >&2; }
FAILED=()
fail() { FAILED+=("$*"); log "FAILED: $*"; }

REDIS_PID= BRICK_PIDS=() GW_PID= GW_SAMPLER= GA_STARTED=0 GA_PID= GA_SAMPLER= TMP_POLICY= STEP_PID= SERVER_PID=
export BASE=$WORK/ganesha EXPORT_DIR=$WORK/export-ganesha   # read by servers/ganesha-*.sh

# ---------------------------------------------------------------- processes
alive() {  # PID is running (a zombie counts as gone)
  local _p _c st
  [ -r "/proc/$1/stat" ] || return 1
  read -r _p _c st _ < "/proc/$1/stat" 2>/dev/null || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
stop_pid() {  # PID NAME: TERM, wait up to 15 s, then KILL. Only PIDs this script started.
  local pid=$1 name=$2 i
  [ -n "$pid" ] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then log "$name ($pid) ignored SIGTERM for 15 s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    for i in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  fi
  wait "$pid" 2>/dev/null || true   # reap it if it is our child
}
listening() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
wait_listen() {  # PID NAME LOGFILE PORT...: wait (30 s) until every port listens
  local pid=$1 name=$2 logf=$3 i p ok; shift 3
  for i in $(seq 150); do
    alive "$pid" || { log "$name exited during startup; last log lines:"; tail -20 "$logf" >&2 || true; return 1; }
    ok=1; for p in "$@"; do listening "$p" || ok=0; done
    [ $ok = 1 ] && return 0
    sleep 0.2
  done
  log "$name is not listening on $* after 30 s; last log lines:"; tail -20 "$logf" >&2 || true
  return 1
}
ports_free() { local p; for p in "$@"; do listening "$p" && { log "port $p is already in use:"; ss -Hltnp "( sport = :$p )" >&2; return 1; }; done; return 0; }

rss_sampler() {  # PID OUTFILE: "epoch_s rss_KiB" every 0.2 s while PID lives (no forks but sleep)
  local pid=$1 out=$2 k v _u
  while alive "$pid"; do
    while read -r k v _u; do
      [ "$k" = VmRSS: ] && { echo "$EPOCHREALTIME $v"; break; }
    done < "/proc/$pid/status" 2>/dev/null || true
    sleep 0.2
  done > "$out"
}
peak_rss_mib() {  # PID SAMPLEFILE -> max(VmHWM now, max sampled VmRSS) in MiB
  local hwm
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
  [ -f "$2" ] || : > "$2"
  awk -v h="${hwm:-0}" 'BEGIN {m = h} $2 > m {m = $2} END {printf "%.1f\n", m / 1024}' "$2"
}

stop_gateway() {
  [ -n "$GW_PID" ] || return 0
  log "stopping gateway ($GW_PID)"
  stop_pid "$GW_PID" gateway
  if [ -n "$GW_SAMPLER" ]; then kill "$GW_SAMPLER" 2>/dev/null || true; wait "$GW_SAMPLER" 2>/dev/null || true; fi
  GW_PID= GW_SAMPLER=
}
stop_bricks() {
  local p
  for p in "${BRICK_PIDS[@]}"; do stop_pid "$p" brick; done
  BRICK_PIDS=()
}
stop_redis() {
  [ -n "$REDIS_PID" ] || return 0
  stop_pid "$REDIS_PID" redis-server
  REDIS_PID=
}
stop_ganesha() {
  [ "$GA_STARTED" = 1 ] || return 0
  local gp rp
  gp=$(cat "$BASE/ganesha.pid" 2>/dev/null || true); rp=$(cat "$BASE/rpcbind.pid" 2>/dev/null || true)
  log "stopping ganesha (${gp:-?}) and its private rpcbind (${rp:-?})"
  "$KIT/servers/ganesha-stop.sh" >> "$OUT/run.log" 2>&1 || true   # TERM by PID file
  stop_pid "$gp" ganesha; stop_pid "$rp" rpcbind                  # wait for exit / KILL
  if [ -n "$GA_SAMPLER" ]; then kill "$GA_SAMPLER" 2>/dev/null || true; wait "$GA_SAMPLER" 2>/dev/null || true; fi
  cp "$BASE/ganesha.log" "$OUT/ganesha.log" 2>/dev/null || true
  GA_STARTED=0 GA_SAMPLER=
}
# start_gateway T LOG "PORT..." CMD...: runs CMD (a gateway) in $ROOT with its output in LOG, samples its
# RSS into $OUT/T.rss.tsv and waits until every PORT listens; non-zero (gateway stopped) if it does not.
start_gateway() {
  local t=$1 gwlog=$2 ports=$3; shift 3
  echo "$t: (cd $ROOT && $*)" >> "$OUT/commands.txt"
  (cd "$ROOT" && exec "$@") > "$gwlog" 2>&1 8>&- &
  GW_PID=$!
  rss_sampler "$GW_PID" "$OUT/$t.rss.tsv" 8>&- &
  GW_SAMPLER=$!
  # shellcheck disable=SC2086  # PORT... is a word list on purpose
  if ! wait_listen "$GW_PID" "$t gateway" "$gwlog" $ports; then
    fail "$t: gateway did not start (see $gwlog)"; stop_gateway; return 1
  fi
  SERVER_PID=$GW_PID
}
# gateway_done T LOG: after the workload: the gateway's peak RSS into $OUT/T.rss.txt (or that it died), then stop it.
gateway_done() {
  local t=$1 gwlog=$2
  SERVER_PID=
  if alive "$GW_PID"; then
    echo "peak_rss_MiB $(peak_rss_mib "$GW_PID" "$OUT/$t.rss.tsv")" > "$OUT/$t.rss.txt"
  else
    fail "$t: gateway died during the benchmark (see $gwlog)"
    echo "peak_rss_MiB $(peak_rss_mib 0 "$OUT/$t.rss.tsv")" > "$OUT/$t.rss.txt"
  fi
  stop_gateway
}
# start_ganesha T: the kit's Ganesha (start log $OUT/T-start.log, config copied to $OUT/T.conf) with its RSS
# sampled into $OUT/T.rss.tsv; sets GA_PID. Non-zero (nothing left running) if it does not start.
start_ganesha() {
  local t=$1
  echo "$t: BASE=$BASE EXPORT_DIR=$EXPORT_DIR $KIT/servers/ganesha-start.sh" >> "$OUT/commands.txt"
  GA_STARTED=1
  if ! "$KIT/servers/ganesha-start.sh" > "$OUT/$t-start.log" 2>&1 8>&-; then
    fail "$t: ganesha-start.sh failed; tail of $OUT/$t-start.log:"; tail -15 "$OUT/$t-start.log" >&2
    stop_ganesha; return 1
  fi
  GA_PID=$(cat "$BASE/ganesha.pid")
  cp "$BASE/ganesha.conf" "$OUT/$t.conf"
  rss_sampler "$GA_PID" "$OUT/$t.rss.tsv" 8>&- &
  GA_SAMPLER=$!
  SERVER_PID=$GA_PID
}
# ganesha_done T: after the workload: Ganesha's peak RSS into $OUT/T.rss.txt (or that it died); leaves it running.
ganesha_done() {
  local t=$1
  SERVER_PID=
  alive "$GA_PID" || fail "$t: process died during the benchmark (see $OUT/$t.log)"
  echo "peak_rss_MiB $(peak_rss_mib "$GA_PID" "$OUT/$t.rss.tsv")" > "$OUT/$t.rss.txt"
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  # a running step: timeout(1) passes the TERM on to the load generator's process group
  [ -n "$STEP_PID" ] && { kill -TERM "$STEP_PID" 2>/dev/null; wait "$STEP_PID" 2>/dev/null; }
  stop_gateway
  stop_bricks
  stop_redis
  stop_ganesha
  stop_samba
  [ -n "$TMP_POLICY" ] && rm -f "$TMP_POLICY"
  case $WORK in "$BW"/run-*) rm -rf "$WORK";; esac
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One bench run at a time on this machine (the ports and the CPU are shared).
# Long-lived children get fd 8 closed so a leaked server can never hold it.
exec 8> "$BW/.bench-run.lock"
if ! flock -n 8; then log "another bench run holds $BW/.bench-run.lock; waiting for it"; flock 8; fi

# ---------------------------------------------------------------- tools
tools_ok() { [ -x "$BW/libnfs5/bin/nfs-cp" ] && [ -x "$BW/libnfs5/bin/nfs-cat" ] && [ -x "$BW/bin/nfs_meta" ]; }
ensure_tools() {
  tools_ok && return 0
  log "load generators missing: running $KIT/setup-tools.sh (first time: several minutes) > $OUT/setup-tools.log"
  ( flock -w 7200 9 || exit 1; tools_ok || bash "$KIT/setup-tools.sh" ) 9> "$BW/.setup-tools.lock" 8>&- > "$OUT/setup-tools.log" 2>&1 \
    || { log "setup-tools.sh failed; tail of $OUT/setup-tools.log:"; tail -20 "$OUT/setup-tools.log" >&2; exit 1; }
  tools_ok || { log "setup-tools.sh finished but nfs-cp / nfs-cat / nfs_meta are still missing"; exit 1; }
}
apt_install() {
  log "apt-get install $*"
  # never let a package's postinst start a system service (ganesha on :2049, rpcbind on :111)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    TMP_POLICY=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$TMP_POLICY"; chmod 755 "$TMP_POLICY"
  fi
  local a=(env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
  "${a[@]}" install -y --no-install-recommends "$@" >> "$OUT/apt.log" 2>&1 \
    || { "${a[@]}" update >> "$OUT/apt.log" 2>&1 && "${a[@]}" install -y --no-install-recommends "$@" >> "$OUT/apt.log" 2>&1; } \
    || { log "apt-get install $* failed; see $OUT/apt.log"; tail -20 "$OUT/apt.log" >&2; exit 1; }
  if [ -n "$TMP_POLICY" ]; then rm -f "$TMP_POLICY"; TMP_POLICY=; fi
}
ensure_ganesha() {
  local pkgs=()
  command -v ganesha.nfsd > /dev/null || pkgs+=(nfs-ganesha)
  [ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || pkgs+=(nfs-ganesha-vfs)  # Plugins_Dir in ganesha.conf
  command -v rpcbind > /dev/null || pkgs+=(rpcbind)
  command -v unshare > /dev/null || pkgs+=(util-linux)
  command -v ss > /dev/null || pkgs+=(iproute2)
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
}

# ---------------------------------------------------------------- steps
run_step() {  # NAME CMD...: stdout (median/min/max) -> NAME.txt, per-run lines + errors -> NAME.raw
  local name=$1 rc=0; shift
  echo "$name: $*" >> "$OUT/commands.txt"
  log "$name: $*"
  # In the background, polled: Ctrl-C / SIGTERM reach the trap within 0.5 s, and a
  # server that dies aborts the step (libnfs would otherwise reconnect and retry for minutes).
  local started=$EPOCHREALTIME
  timeout --kill-after=15 "$STEP_TIMEOUT" "$@" > "$OUT/$name.txt" 2> "$OUT/$name.raw" 8>&- &
  STEP_PID=$!
  local died=0
  while alive "$STEP_PID"; do
    if [ -n "$SERVER_PID" ] && ! alive "$SERVER_PID"; then
      died=1; log "$name: the server (pid $SERVER_PID) died; aborting the step"
      kill -TERM "$STEP_PID" 2>/dev/null || true   # timeout(1) passes it on to the whole step
      break
    fi
    sleep 0.5
  done
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  echo "$name $started $EPOCHREALTIME" >> "$OUT/steps.tsv"   # for the per-step peak RSS (summarize.py)
  echo "  rc=$rc" >> "$OUT/commands.txt"
  if [ $rc -ne 0 ]; then
    local why="rc=$rc"; [ $rc = 124 ] && why="timed out after ${STEP_TIMEOUT}s"
    [ $died = 1 ] && why="server died"
    fail "$name ($why), see $OUT/$name.raw"
    tail -8 "$OUT/$name.raw" >&2 || true
    return 1
  fi
  grep -Ev '_(min|max) ' "$OUT/$name.txt" | sed 's/^/   /' >&2 || true
}
prepare_source() {
  # seq_nfs.sh makes its SIZE MiB random source file (kept in $BW/tmp) on first
  # use. Let it do that now, with RUNS=0 (no timed run) against a closed port
  # (its final cleanup call fails at once), and flush it to disk, so that its
  # writeback cannot overlap the first target's timed write.
  log "preparing the ${SIZE} MiB source file"
  timeout 300 "$KIT/seq_nfs.sh" "$HOST" 9 9 /none 3 "$SIZE" 0 > /dev/null 2>> "$OUT/prepare.log" 8>&- || true
}
up_gateway() {  # non-zero: nothing left running (the failure is recorded)
  local gwlog=$OUT/gateway.log
  if [ $BUILD = 1 ]; then
    if [ ! -d "$ROOT/node_modules" ]; then
      log "npm ci"; (cd "$ROOT" && npm ci --no-audit --no-fund) > "$OUT/npm-ci.log" 2>&1 8>&- \
        || { fail "gateway: npm ci (see $OUT/npm-ci.log)"; return 1; }
    fi
    log "npm run build > $OUT/build.log"
    (cd "$ROOT" && npm run build) > "$OUT/build.log" 2>&1 8>&- \
      || { fail "gateway: npm run build; tail of $OUT/build.log:"; tail -15 "$OUT/build.log" >&2; return 1; }
  fi
  [ -f "$ROOT/dist/gateway/main.js" ] || { fail "gateway: $ROOT/dist/gateway/main.js does not exist (gateway not built yet?)"; return 1; }
  ports_free "$GW_PORT" "$GW_MPORT" || { fail "gateway: ports $GW_PORT/$GW_MPORT busy"; return 1; }
  mkdir -p "$WORK/gw-data"
  # the contract is --no-portmap; a CLI whose help lists only "--portmap MODE" gets --portmap off
  local pm=(--no-portmap) help
  help=$(cd "$ROOT" && timeout 30 node dist/gateway/main.js serve --help 2>&1 8>&-) || true
  if ! grep -q -- '--no-portmap' <<<"$help" && grep -q -- '--portmap ' <<<"$help"; then pm=(--portmap off); fi
  local cmd=(node dist/gateway/main.js serve --data "$WORK/gw-data" --listen "$HOST"
             --nfs-port "$GW_PORT" --mount-port "$GW_MPORT" "${pm[@]}" --log-level warn)
  log "starting gateway: ${cmd[*]}"
  start_gateway gateway "$gwlog" "$GW_PORT $GW_MPORT" "${cmd[@]}" || return 1
  log "gateway pid $GW_PID listening on $HOST:$GW_PORT (mount $GW_MPORT), export $GW_EXPORT"
}
run_gateway() {
  up_gateway || return 0
  bench_steps gateway
  down_gateway
}
down_gateway() { gateway_done gateway "$OUT/gateway.log"; }

up_ganesha() {
  ensure_ganesha
  ports_free "$GA_PORT" "$GA_MPORT" || { fail "ganesha: ports $GA_PORT/$GA_MPORT busy"; return 1; }
  mkdir -p "$BASE" "$EXPORT_DIR"
  log "starting ganesha (export $GA_EXPORT -> $EXPORT_DIR)"
  start_ganesha ganesha || return 1
  log "ganesha pid $GA_PID listening on $HOST:$GA_PORT (mount $GA_MPORT), export $GA_EXPORT"
}
down_ganesha() { ganesha_done ganesha; stop_ganesha; }
run_ganesha() {
  up_ganesha || return 0
  bench_steps ganesha
  down_ganesha
}

# A distributed volume: the gateway over 3 brick node processes on loopback, replica R. Sequential
# test only. Network amplification from the kernel's per-socket counters (ss -ti bytes_sent /
# bytes_received) of the gateway's connections to the bricks, read once the step is over: bytes sent to
# the bricks per client byte written, bytes received from them per client byte read.
run_replica() {  # R
  local r=$1 t=replica$1 i port ports=() bricks=() gwlog=$OUT/replica$1.log
  [ -f "$ROOT/dist/gateway/main.js" ] || { fail "$t: gateway not built"; return 0; }
  ports_free "$GW_PORT" "$GW_MPORT" || { fail "$t: ports $GW_PORT/$GW_MPORT busy"; return 0; }
  for i in 1 2 3; do
    port=$((23100 + i)); ports+=("$port")
    ports_free "$port" || { fail "$t: brick port $port busy"; stop_bricks; return 0; }
    mkdir -p "$WORK/$t-b$i"
    (cd "$ROOT" && exec node dist/gateway/main.js brick --dir "$WORK/$t-b$i" --listen "$HOST:$port" --log-level warn) > "$OUT/$t.brick$i.log" 2>&1 8>&- &
    BRICK_PIDS+=($!)
    wait_listen "$!" "brick $i" "$OUT/$t.brick$i.log" "$port" || { fail "$t: brick $i did not start"; stop_bricks; return 0; }
    bricks+=("{\"id\":\"b$i\",\"address\":\"$HOST:$port\"}")
  done
  local cfg=$WORK/$t.json
  printf '{"volumes":[{"name":"data","dataDir":"%s","replica":%s,"bricks":[%s]}],"exports":[{"name":"data","volume":"data"}],"smb":{"enabled":false}}\n' \
    "$WORK/$t-gw" "$r" "$(IFS=,; echo "${bricks[*]}")" > "$cfg"
  cp "$cfg" "$OUT/$t.json"
  local cmd=(node dist/gateway/main.js serve --config "$cfg" --listen "$HOST" --nfs-port "$GW_PORT" --mount-port "$GW_MPORT" --portmap off --log-level warn)
  log "starting $t: 3 bricks on ports ${ports[*]}, gateway ${cmd[*]}"
  start_gateway "$t" "$gwlog" "$GW_PORT $GW_MPORT" "${cmd[@]}" || { stop_bricks; return 0; }
  sync; sleep 1
  run_step "$t.seq" "$KIT/seq_nfs.sh" "$HOST" "$GW_PORT" "$GW_MPORT" "$GW_EXPORT" 3 "$SIZE" "$RUNS" || true
  SERVER_PID=
  local sent=0 recv=0 line
  for port in "${ports[@]}"; do
    line=$(ss -tinH state established "( dport = :$port )" 2>/dev/null | tr ' ' '\n' | awk -F: '$1=="bytes_sent"{s+=$2} $1=="bytes_received"{r+=$2} END{printf "%d %d", s, r}')
    sent=$((sent + ${line% *})); recv=$((recv + ${line#* }))
  done
  local client=$((RUNS * SIZE * 1048576))
  {
    echo "net_to_bricks_bytes $sent"
    echo "net_from_bricks_bytes $recv"
    awk -v s="$sent" -v c="$client" 'BEGIN {printf "net_write_bytes_per_client_byte %.2f\n", s / c}'
    awk -v s="$recv" -v c="$client" 'BEGIN {printf "net_read_bytes_per_client_byte %.2f\n", s / c}'
  } > "$OUT/$t.net.txt"
  gateway_done "$t" "$gwlog"
  stop_bricks
}
run_replica1() { run_replica 1; }
run_replica3() { run_replica 3; }

# The small-file workload with the volume's metadata in Redis (engine "redis"), on a redis-server of its
# own on loopback with the persistence the engine requires (appendonly yes, appendfsync always), and the
# chunks in the gateway's in-process brick as with the embedded default. Meta test only: the gateway
# target gives the embedded engine's figures for the same workload.
run_redis() {
  local t=redis rport=${BENCH_REDIS_PORT:-23110} gwlog=$OUT/redis.log
  [ -f "$ROOT/dist/gateway/main.js" ] || { fail "$t: gateway not built"; return 0; }
  command -v redis-server > /dev/null || apt_install redis-server
  ports_free "$GW_PORT" "$GW_MPORT" "$rport" || { fail "$t: ports $GW_PORT/$GW_MPORT/$rport busy"; return 0; }
  mkdir -p "$WORK/redis-db" "$WORK/redis-gw"
  redis-server --port "$rport" --bind "$HOST" --dir "$WORK/redis-db" --appendonly yes --appendfsync always \
    --save '' --daemonize no --loglevel warning > "$OUT/redis-server.log" 2>&1 8>&- &
  REDIS_PID=$!
  wait_listen "$REDIS_PID" redis-server "$OUT/redis-server.log" "$rport" || { fail "$t: redis-server did not start"; stop_redis; return 0; }
  local cfg=$WORK/$t.json
  printf '{"volumes":[{"name":"data","dataDir":"%s","engine":"redis","rootMode":1023,"redis":{"url":"redis://%s:%s"}}],"exports":[{"name":"data","volume":"data"}],"smb":{"enabled":false}}\n' \
    "$WORK/redis-gw" "$HOST" "$rport" > "$cfg"
  cp "$cfg" "$OUT/$t.json"
  local cmd=(node dist/gateway/main.js serve --config "$cfg" --listen "$HOST" --nfs-port "$GW_PORT" --mount-port "$GW_MPORT" --portmap off --log-level warn)
  log "starting $t: redis-server pid $REDIS_PID on $HOST:$rport, gateway ${cmd[*]}"
  start_gateway "$t" "$gwlog" "$GW_PORT $GW_MPORT" "${cmd[@]}" || { stop_redis; return 0; }
  sync; sleep 1
  # shellcheck disable=SC2086  # META_ARGS is a word list on purpose
  run_step "$t.meta" "$KIT/meta_nfs.sh" "$HOST" "$GW_PORT" "$GW_MPORT" "$GW_EXPORT" 3 "$META_RUNS" $META_ARGS || true
  gateway_done "$t" "$gwlog"
  stop_redis
}

# ---------------------------------------------------------------- NFSv4 (nfs4, ganesha4)
# The same two workloads over NFSv4.0 (libnfs 5.0.2 through the kit's scripts, version 4: no MOUNT
# protocol, the export is a path in the server's pseudo filesystem) and NFSv4.1 (our own client,
# test/e2e/nfs41-bench.ts through bench/nfs41.sh: sessions, 1 MiB UNSTABLE WRITEs + COMMIT). Steps are
# named <target>.v40.seq, .v40.meta, .v41.seq, .v41.meta (steps_of, target_step).
up_nfs4() {
  local t=nfs4 gwlog=$OUT/nfs4.log
  if [ $BUILD = 1 ] && [[ " ${TARGET_LIST[*]} " != *" gateway "* ]]; then
    log "npm run build > $OUT/build.log"
    (cd "$ROOT" && npm run build) > "$OUT/build.log" 2>&1 8>&- \
      || { fail "$t: npm run build; tail of $OUT/build.log:"; tail -15 "$OUT/build.log" >&2; return 1; }
  fi
  [ -f "$ROOT/dist/test/e2e/nfs41-bench.js" ] || { fail "$t: gateway not built"; return 1; }
  ports_free "$GW_PORT" "$GW_MPORT" || { fail "$t: ports $GW_PORT/$GW_MPORT busy"; return 1; }
  mkdir -p "$WORK/nfs4-data"
  local cmd=(node dist/gateway/main.js serve --data "$WORK/nfs4-data" --listen "$HOST" --nfs-port "$GW_PORT" --mount-port "$GW_MPORT" --portmap off --log-level warn)
  log "starting $t gateway: ${cmd[*]}"
  start_gateway "$t" "$gwlog" "$GW_PORT $GW_MPORT" "${cmd[@]}" || return 1
}
down_nfs4() { gateway_done nfs4 "$OUT/nfs4.log"; }
run_nfs4() {
  up_nfs4 || return 0
  bench_steps nfs4
  down_nfs4
}
up_ganesha4() {  # the kit's Ganesha (Protocols 3, 4; Minor_Versions 0, 1, 2), NFSv4 workloads
  local t=ganesha4
  ensure_ganesha
  ports_free "$GA_PORT" "$GA_MPORT" || { fail "$t: ports $GA_PORT/$GA_MPORT busy"; return 1; }
  rm -rf "$BASE" "$EXPORT_DIR"; mkdir -p "$BASE" "$EXPORT_DIR"   # fresh, also after the ganesha target
  [ -f "$OUT/ganesha.log" ] && mv "$OUT/ganesha.log" "$OUT/.ganesha-v3.log"   # stop_ganesha writes ganesha.log
  log "starting ganesha for NFSv4 (export $GA_EXPORT -> $EXPORT_DIR)"
  start_ganesha "$t" || return 1
}
down_ganesha4() {
  local t=ganesha4
  ganesha_done "$t"
  stop_ganesha
  mv "$OUT/ganesha.log" "$OUT/$t.log" 2>/dev/null || true
  [ -f "$OUT/.ganesha-v3.log" ] && mv "$OUT/.ganesha-v3.log" "$OUT/ganesha.log"
  return 0
}
run_ganesha4() {
  up_ganesha4 || return 0
  bench_steps ganesha4
  down_ganesha4
}

# SMB targets (smb, samba): run_smb, run_samba, stop_samba, smb_summary
. "$ROOT/bench/smb-targets.sh"

# ---------------------------------------------------------------- interleaved pairs
# A gateway target and its peer (gateway+ganesha, nfs4+ganesha4, smb+samba) run side by side: both servers
# up at once, and each workload alternates between them one run at a time (A B, B A, A B, ...). On a
# shared machine whose speed drifts by 2-3x within minutes (docs/bench.md), the runs of the two targets
# then see the same conditions, which running one target's runs after the other's cannot give. Figures
# and file names are those of the sequential order: <target>.<step>.txt holds the median/min/max over
# the per-run lines gathered in <target>.<step>.raw (one <target>.<step>.rN.* pair per run in between).
# --sequential runs every target on its own, one after the other, as before.
pair_of() {
  case $1 in
    gateway) echo ganesha;; ganesha) echo gateway;;
    nfs4) echo ganesha4;; ganesha4) echo nfs4;;
    smb) echo samba;; samba) echo smb;;
  esac
}
server_pid() {  # TARGET: the PID run_step watches while TARGET's step runs
  case $1 in
    gateway|nfs4|smb) echo "$GW_PID";;
    ganesha|ganesha4) echo "$GA_PID";;
    samba) echo "$SAMBA_PID";;
  esac
}
steps_of() {  # TARGET: its steps, in order
  case $1 in
    gateway|ganesha|smb|samba) echo seq meta;;
    nfs4|ganesha4) echo v40.seq v40.meta v41.seq v41.meta;;
  esac
}
target_step() {  # TARGET STEP NAME N: N runs of TARGET's STEP as run_step NAME (the one place a step's command is)
  local t=$1 step=$2 name=$3 n=$4 p mp ex share cred
  case $t in
    gateway) p=$GW_PORT mp=$GW_MPORT ex=$GW_EXPORT;;
    ganesha) p=$GA_PORT mp=$GA_MPORT ex=$GA_EXPORT;;
    nfs4) p=$GW_PORT mp=0 ex=$GW_EXPORT;;
    ganesha4) p=$GA_PORT mp=0 ex=$GA_EXPORT;;
    smb) p=$SMB_GW_PORT share=data cred="bench%$SMB_PASS";;
    samba) p=$SMB_SAMBA_PORT share=bench cred="root%$SMB_PASS";;
  esac
  # shellcheck disable=SC2086  # META_ARGS / SMB_META_ARGS are word lists on purpose
  case $t:$step in
    gateway:seq|ganesha:seq) run_step "$name" "$KIT/seq_nfs.sh" "$HOST" "$p" "$mp" "$ex" 3 "$SIZE" "$n";;
    gateway:meta|ganesha:meta) run_step "$name" "$KIT/meta_nfs.sh" "$HOST" "$p" "$mp" "$ex" 3 "$n" $META_ARGS;;
    *:v40.seq) run_step "$name" "$KIT/seq_nfs.sh" "$HOST" "$p" 0 "$ex" 4 "$SIZE" "$n";;
    *:v40.meta) run_step "$name" "$KIT/meta_nfs.sh" "$HOST" "$p" 0 "$ex" 4 "$n" $META_ARGS;;
    *:v41.seq) run_step "$name" env BENCH_KIT="$KIT" "$ROOT/bench/nfs41.sh" seq "$HOST" "$p" "$ex" "$SIZE" "$n";;
    *:v41.meta) run_step "$name" env BENCH_KIT="$KIT" "$ROOT/bench/nfs41.sh" meta "$HOST" "$p" "$ex" "$n" $META_ARGS;;
    smb:seq|samba:seq) run_step "$name" env BENCH_KIT="$KIT" "$ROOT/bench/smb.sh" "$HOST" "$p" "$share" "$cred" "$SIZE" "$n";;
    smb:meta|samba:meta) run_step "$name" "$KIT/meta_smb.sh" "$HOST" "$p" "$share" "$cred" "$n" $SMB_META_ARGS;;
    *) fail "target_step: no step $step for $t"; return 1;;
  esac
}
bench_steps() {  # TARGET: every step of TARGET (steps_of), each with all its runs, one after the other
  local t=$1 step n
  for step in $(steps_of "$t"); do
    n=$RUNS; [[ $step == *meta ]] && n=$META_RUNS
    sync; sleep 1
    target_step "$t" "$step" "$t.$step" "$n" || true
  done
}
merge_runs() {  # NAME N: the per-run lines of NAME.r1..rN into NAME.raw, their median/min/max into NAME.txt
  local name=$1 n=$2 r
  for r in $(seq "$n"); do
    cat "$OUT/$name.r$r.raw" 2>/dev/null || true
    rm -f "$OUT/$name.r$r.raw" "$OUT/$name.r$r.txt"
  done > "$OUT/$name.raw"
  python3 "$KIT/lib/stats.py" < "$OUT/$name.raw" > "$OUT/$name.txt"
}
interleave() {  # TARGET...: the targets' servers are up; each step alternates between them, one run at a time
  local step n r t i targets=("$@")
  for step in $(steps_of "$1"); do
    n=$RUNS; [[ $step == *meta ]] && n=$META_RUNS
    for r in $(seq "$n"); do
      for i in "${!targets[@]}"; do
        # odd runs in the given order, even runs reversed: neither target always goes first
        if [ $((r % 2)) = 1 ]; then t=${targets[$i]}; else t=${targets[$(( ${#targets[@]} - 1 - i ))]}; fi
        SERVER_PID=$(server_pid "$t")
        sync; sleep 1
        target_step "$t" "$step" "$t.$step.r$r" 1 || true
      done
    done
    for t in "${targets[@]}"; do merge_runs "$t.$step" "$n"; done
  done
  SERVER_PID=
}
run_pair() {  # A B: A is the gateway side (gateway, nfs4, smb), B its peer
  local a=$1 b=$2
  log "interleaving $a and $b: both servers up, runs alternate"
  if ! "up_$a"; then "run_$b"; return 0; fi
  if ! "up_$b"; then interleave "$a"; "down_$a"; return 0; fi
  interleave "$a" "$b"
  "down_$a"
  "down_$b"
}

# ---------------------------------------------------------------- main
log "results in $OUT"
{
  echo "date $(date -Is)"; echo "targets ${TARGET_LIST[*]}"
  echo "seq_size_MiB $SIZE"; echo "seq_runs $RUNS"; echo "meta_runs $META_RUNS"; echo "meta_args $META_ARGS"
  echo "git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (dirty tree)')"
  echo "node $(node -v 2>/dev/null || echo '?')"; echo "kernel $(uname -r)"; echo "cpus $(nproc)"
  echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"
ensure_tools
prepare_source
DONE=" "
for t in "${TARGET_LIST[@]}"; do
  [[ $DONE == *" $t "* ]] && continue
  peer=$(pair_of "$t")
  if [ "$INTERLEAVE" = 1 ] && [ -n "$peer" ] && [[ " ${TARGET_LIST[*]} " == *" $peer "* ]]; then
    case $t in gateway|nfs4|smb) run_pair "$t" "$peer";; *) run_pair "$peer" "$t";; esac
    DONE="$DONE$peer "
  else
    "run_$t"
  fi
  DONE="$DONE$t "
  sync
done
{
  echo "ganesha $(ganesha.nfsd -v 2>/dev/null | head -1)"
  echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)"
} >> "$OUT/env.txt"

{
  python3 "$ROOT/bench/summarize.py" "$OUT" "${TARGET_LIST[@]}"
  smb_summary "$OUT" "${TARGET_LIST[@]}"
  echo "# loadavg before: $(sed -n 's/^load_before //p' "$OUT/env.txt"), after: $(sed -n 's/^load_after //p' "$OUT/env.txt") ($(nproc) cpus; other load skews every figure)"
} | tee "$OUT/summary.txt"
if [ ${#FAILED[@]} -gt 0 ]; then
  { echo "# FAILED steps:"; printf '#   %s\n' "${FAILED[@]}"; } | tee -a "$OUT/summary.txt"
  log "raw output: $OUT"
  exit 1
fi
log "raw output: $OUT"
