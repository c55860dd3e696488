#!/usr/bin/env bash
# The whole suite: unit, proc, cluster, loopback and e2e (real clients). Installs what it needs from
# Debian when missing, so it works on a fresh machine. A layer that cannot run fails; nothing is
# skipped and counted as passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SHARED=${SHARED_DIR:-$ROOT/../shared}

need_pkgs=()
for p in libnfs-utils rpcbind smbclient samba-testsuite redis-server gcc libc6-dev; do  # gcc, libc6-dev: test/e2e/tools/fstool.c (static) for the kernel-client VM
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "test: installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# The kernel-client VM (qemu + a Debian kernel + initramfs); idempotent and quick when already built.
"$SHARED/tools/kclient/setup" >/tmp/kclient-setup.log 2>&1 || { cat /tmp/kclient-setup.log; exit 1; }

[ -d node_modules ] || npm install --no-audit --no-fund
npm run build >/dev/null

export GW_SHARED_DIR="$SHARED"
# One runner invocation for every layer, so the summary counts everything. Files run one at a time:
# the e2e layer boots VMs and binds port 111, and the machine has two cores. A TAP copy of the same run
# gives the plain closing line.
tap=$(mktemp /tmp/gw-test-XXXXXX.tap)
set +e
node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  dist/test/unit dist/test/proc dist/test/cluster dist/test/loopback dist/test/e2e
rc=$?
set -e
pass=$(grep -E '^# pass [0-9]+' "$tap" | tail -1 | awk '{print $3}')
fail=$(grep -E '^# fail [0-9]+' "$tap" | tail -1 | awk '{print $3}')
skip=$(grep -E '^# skipped [0-9]+' "$tap" | tail -1 | awk '{print $3}')
rm -f "$tap"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
# A run that executed nothing is a failure, not a pass.
[ "${pass:-0}" -gt 0 ] || exit 1
exit $rc
