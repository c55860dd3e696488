# SMB targets of bench/run.sh (sourced by it; uses its helpers: run_step, start_gateway, gateway_done,
# wait_listen, ports_free, stop_pid, rss_sampler, peak_rss_mib, apt_install, fail, log, bench_steps, and its variables
# ROOT KIT BW OUT WORK HOST SIZE RUNS META_RUNS GW_PORT GW_MPORT GW_PID GW_SAMPLER SERVER_PID).
#
#   smb:   the gateway (`serve --data`, share `data`, user added with `gateway user add`) on
#          $BENCH_GW_SMB_PORT (23445)
#   samba: Samba's smbd from the kit (servers/samba-start.sh: share `bench`, user root, 127.0.0.1:22445),
#          state and export under this run's work directory
# Each runs bench/smb.sh (1 GiB put/get with smbclient at SMB3.1.1, plain then sealed) as step
# <target>.seq and the kit's meta_smb.sh (smb_meta, libsmbclient) as <target>.meta. smb_summary prints
# ratio.smb.<figure> lines: the gateway vs Samba, >1 means the gateway is better.

SMB_GW_PORT=${BENCH_GW_SMB_PORT:-23445}
SMB_SAMBA_PORT=22445          # fixed in the kit's samba-start.sh
SMB_PASS=benchpass
SMB_META_ARGS=${BENCH_SMB_META_ARGS:--n 2000 -b 4096 -d 10000 -r 3 -c 16 -m SMB3}
SAMBA_STARTED=0 SAMBA_PID=

ensure_smb_tools() {
  local pkgs=()
  command -v smbclient > /dev/null || pkgs+=(smbclient)
  [ "${1:-}" = samba ] && { command -v smbd > /dev/null || pkgs+=(samba); }
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
  [ -x "$BW/bin/smb_meta" ] || log "$BW/bin/smb_meta is missing (the kit's setup-tools.sh builds it): the meta step will fail"
}

up_smb() {
  local t=smb gwlog=$OUT/smb.log data=$WORK/smb-data
  ensure_smb_tools
  if [ $BUILD = 1 ] && [[ " ${TARGET_LIST[*]} " != *" gateway "* ]]; then
    log "npm run build > $OUT/build.log"
    (cd "$ROOT" && npm run build) > "$OUT/build.log" 2>&1 8>&- \
      || { fail "$t: npm run build; tail of $OUT/build.log:"; tail -15 "$OUT/build.log" >&2; return 1; }
  fi
  [ -f "$ROOT/dist/gateway/main.js" ] || { fail "$t: gateway not built"; return 1; }
  ports_free "$GW_PORT" "$GW_MPORT" "$SMB_GW_PORT" || { fail "$t: ports $GW_PORT/$GW_MPORT/$SMB_GW_PORT busy"; return 1; }
  mkdir -p "$data"
  (cd "$ROOT" && node dist/gateway/main.js user add bench --password "$SMB_PASS" --data "$data") >> "$OUT/smb-user.log" 2>&1 8>&- \
    || { fail "$t: gateway user add failed (see $OUT/smb-user.log)"; return 1; }
  local cmd=(node dist/gateway/main.js serve --data "$data" --listen "$HOST" --nfs-port "$GW_PORT" --mount-port "$GW_MPORT"
             --portmap off --smb-port "$SMB_GW_PORT" --log-level warn)
  echo "$t: (cd $ROOT && node dist/gateway/main.js user add bench --password $SMB_PASS --data $data)" >> "$OUT/commands.txt"
  log "starting $t gateway: ${cmd[*]}"
  start_gateway "$t" "$gwlog" "$SMB_GW_PORT" "${cmd[@]}" || return 1
}
down_smb() { gateway_done smb "$OUT/smb.log"; }
run_smb() {
  up_smb || return 0
  bench_steps smb
  down_smb
}

stop_samba() {
  [ "$SAMBA_STARTED" = 1 ] || return 0
  local sp
  sp=$(cat "$WORK/samba/smbd.pid" 2>/dev/null || true)
  log "stopping smbd (${sp:-?})"
  BASE=$WORK/samba "$KIT/servers/samba-stop.sh" >> "$OUT/run.log" 2>&1 || true   # TERM by PID file
  stop_pid "$sp" smbd
  cp -r "$WORK/samba/log" "$OUT/samba-log" 2>/dev/null || true
  SAMBA_STARTED=0
}

up_samba() {
  local t=samba
  ensure_smb_tools samba
  ports_free "$SMB_SAMBA_PORT" || { fail "$t: port $SMB_SAMBA_PORT busy"; return 1; }
  local env=(BASE="$WORK/samba" EXPORT_DIR="$WORK/export-samba")
  echo "$t: ${env[*]} $KIT/servers/samba-start.sh" >> "$OUT/commands.txt"
  log "starting smbd (share bench -> $WORK/export-samba, port $SMB_SAMBA_PORT)"
  SAMBA_STARTED=1
  # In a session of its own: smbd started with --no-process-group signals its process group when it
  # stops, which would otherwise be this script's.
  if ! setsid -w env "${env[@]}" "$KIT/servers/samba-start.sh" > "$OUT/samba-start.log" 2>&1 8>&-; then
    fail "$t: samba-start.sh failed; tail of $OUT/samba-start.log:"; tail -15 "$OUT/samba-start.log" >&2
    stop_samba; return 1
  fi
  cp "$WORK/samba/smb.conf" "$OUT/samba.conf"
  SAMBA_PID=$(cat "$WORK/samba/smbd.pid")
  SERVER_PID=$SAMBA_PID
}
down_samba() {
  alive "$SAMBA_PID" || fail "samba: smbd died during the benchmark (see $OUT/samba-log)"
  SERVER_PID=
  stop_samba
}
run_samba() {
  up_samba || return 0
  bench_steps samba
  down_samba
}

smb_summary() {  # OUT TARGET...: ratio.smb.<figure> (gateway vs Samba) when both ran
  local out=$1; shift
  [[ " $* " == *" smb "* && " $* " == *" samba "* ]] || return 0
  python3 - "$out" <<'PY'
import os, sys
out = sys.argv[1]
def load(t):
    vals = {}
    for part in ('seq', 'meta'):
        p = os.path.join(out, f'{t}.{part}.txt')
        if not os.path.exists(p):
            continue
        for line in open(p):
            k, _, v = line.strip().partition(' ')
            if k.endswith(('_min', '_max', '_n', '_seconds', '_client_cpu_pct')):
                continue
            try:
                vals[k] = float(v)
            except ValueError:
                pass
    return vals
gw, sa = load('smb'), load('samba')
print("# SMB ratio.smb.X: the gateway (smb) vs Samba (samba), >1 means the gateway is better; "
      "throughput = gateway/samba, latency (_us) = samba/gateway; seq_enc_* = sealed (SMB3.1.1 encryption)")
for k, b in sa.items():
    for suffix, rate in (('_MiBps', True), ('_per_s', True), ('_us', False)):
        if k.endswith(suffix):
            break
    else:
        continue
    a = gw.get(k, 0.0)
    name = k[:-len(suffix)]
    if a <= 0 or b <= 0:
        print(f"# ratio.smb.{name}: n/a")
        continue
    print(f"ratio.smb.{name} {(a / b if rate else b / a):.2f}")
PY
}
