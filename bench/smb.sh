#!/bin/bash
# SMB sequential driver for `npm run bench` (targets smb and samba, bench/smb-targets.sh): put and get of
# one SIZE MiB file with smbclient at SMB3.1.1, first plain, then sealed (--client-protection=encrypt),
# the same commands for every server. The kit's seq_smb.sh has no way to ask for encryption; this does
# what it does (one smbclient process per transfer, time around the whole process, random source file
# kept in $GW_BENCH_DIR/tmp) for both modes.
#
# usage: bench/smb.sh HOST PORT SHARE USER%PASS [SIZE_MiB=1024] [RUNS=3] [MAXPROTO=SMB3_11]
# prints (median over runs, _min, _max, via the kit's lib/stats.py):
#   seq_write_MiBps seq_read_MiBps           plain (signing as the client and server default to)
#   seq_enc_write_MiBps seq_enc_read_MiBps   encrypted (the cipher both sides negotiate)
# stderr: per-run lines, and once per mode a comment line with the negotiated dialect and the number of
#         sealed messages (smbclient -d10).
set -euo pipefail
BW=${GW_BENCH_DIR:-/var/tmp/gw-bench}
[ $# -ge 4 ] || { sed -n 2,13p "$0"; exit 2; }
HOST=$1 PORT=$2 SHARE=$3 CRED=$4 SIZE=${5:-1024} RUNS=${6:-3} MAXP=${7:-SMB3_11}
KIT=${BENCH_KIT:-$(cd "$(dirname "$0")/../../shared/bench" 2>/dev/null && pwd)}
SRC_DIR=${SRC_DIR:-$BW/tmp}; mkdir -p "$SRC_DIR"
SRC=$SRC_DIR/bench-seq-src-${SIZE}M   # the same file seq_nfs.sh / seq_smb.sh use
[ -f "$SRC" ] && [ "$(stat -c %s "$SRC")" = $((SIZE * 1048576)) ] || \
  dd if=/dev/urandom of="$SRC" bs=1M count="$SIZE" status=none
FILE=seq-smb-$$.dat
now() { date +%s.%N; }
rate() { python3 -c "print(f'{$SIZE/($2-$1):.1f}')"; }
smb() {  # MODE(plain|enc) CMD: one smbclient process; fails the run if smbclient fails
  local prot=()
  [ "$1" = enc ] && prot=(--client-protection=encrypt)
  smbclient -p "$PORT" "//$HOST/$SHARE" -U "$CRED" -m "$MAXP" "${prot[@]}" -E -c "$2" > /dev/null 2>&1
}
session() {  # MODE: the negotiated dialect and whether messages were sealed, for the log (not timed)
  local prot=() out
  [ "$1" = enc ] && prot=(--client-protection=encrypt)
  out=$(smbclient -p "$PORT" "//$HOST/$SHARE" -U "$CRED" -m "$MAXP" "${prot[@]}" -d10 -c 'ls' 2>&1 || true)
  echo "$(grep -om1 'negotiated dialect\[[^]]*\]' <<<"$out") sealed_messages=$(grep -c 'Encrypted SMB2 message' <<<"$out")"
}
{
for mode in plain enc; do
  p=seq_; [ $mode = enc ] && p=seq_enc_
  echo "# $mode: $(session $mode)"   # a comment line: to the raw output, ignored by stats.py
  for r in $(seq "$RUNS"); do
    sync
    t0=$(now); smb $mode "put $SRC $FILE"; t1=$(now)
    echo "${p}write_MiBps $(rate "$t0" "$t1")"
    t0=$(now); smb $mode "get $FILE /dev/null"; t1=$(now)
    echo "${p}read_MiBps $(rate "$t0" "$t1")"
    smb $mode "del $FILE"
  done
done
} | tee /dev/stderr | python3 "$KIT/lib/stats.py"
