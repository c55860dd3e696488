# Runs inside the kclient guest (busybox sh -e, cwd = the mount). Shared by the NFS and SMB kernel
# tests. Every step checks what a user would notice; the first failure aborts with its line.
# Inputs (kclient --file): /kclient/files/in/tree.tar  a source tree to copy in and out
# Env-ish knobs via files: $KNOBS/expect10k  number of host-created entries in big10k/
#                          $KNOBS/skip       words naming steps the client cannot do (SMB
#                          without POSIX extensions: "special" = mkfifo/mknod, "owner" = chmod/chown)
# KNOBS is $WL_KNOBS when set (several runs with their own knobs in one VM boot), else /kclient/files/in.
set -e
KNOBS=${WL_KNOBS:-/kclient/files/in}
# Each step line ends with the guest uptime, so a slow step shows in the test log.
say() { echo "WL: $* [$(cut -d" " -f1 /proc/uptime)s]"; }
skip() { grep -qw "$1" $KNOBS/skip 2>/dev/null && say "skipped $1 (client cannot)"; }
T=/tmp/wl; rm -rf $T; mkdir -p $T
dropcaches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
# diff -r that, when the trees differ, first shows the evidence: for every name only in the first tree,
# whether the second tree's directory lists it (a listing problem) and whether a lookup finds it (a lost
# file), with each directory's listing as the client sees it again after dropping its caches.
difftree() {
  if diff -r "$1" "$2" > $T/diff.out 2>&1; then return 0; fi
  cat $T/diff.out
  dropcaches
  # "Only in DIR: NAME" (GNU) or "Only in DIR: SUB/NAME" (busybox), for names only in the first tree
  sed -n 's/^Only in \([^:]*\): \(.*\)$/\1 \2/p' $T/diff.out | while read -r d n; do
    case $d in "$1"|"$1"/*) ;; *) continue;; esac
    p="$2${d#"$1"}/$n"
    if ls -a "$(dirname "$p")" 2>/dev/null | grep -qxF "$(basename "$p")"; then l=listed; else l=unlisted; fi
    if stat "$p" > /dev/null 2>&1; then s="lookup finds it"; else s="lookup fails"; fi
    say "diff: $p: $l, $s"
    echo "$(dirname "$p")" >> $T/diff.dirs
  done
  sort -u $T/diff.dirs 2>/dev/null | while read -r d; do
    say "diff: listing of $d:"; ls -la "$d" 2>&1 | sed 's/^/WL:   /'
  done
  return 1
}

say "tree copy in/out"
mkdir $T/src && tar xf /kclient/files/in/tree.tar -C $T/src
cp -a $T/src ./tree
dropcaches
difftree $T/src ./tree
cp -a ./tree $T/back
difftree $T/src $T/back
say "tree ok: $(find ./tree -type f | wc -l) files"

say "tar extract onto the mount"
mkdir tarx && tar xf /kclient/files/in/tree.tar -C tarx
difftree $T/src tarx

say "unaligned writes"
dd if=/dev/urandom of=$T/rnd bs=1024 count=300 2>/dev/null
: > $T/ref; : > ./ua
for spec in "0 1000 0" "4097 333 5000" "131071 70000 9000" "1048575 2 100" "65536 4096 200000" "7 131073 40000"; do
  set -- $spec
  # 4 KiB writes at byte offsets: unaligned, and few enough that a client without write caching
  # (SMB with no oplock: one WRITE per write(2)) finishes in seconds under TCG.
  dd if=$T/rnd of=$T/ref bs=4096 seek=$1 skip=$3 count=$2 iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc 2>/dev/null
  dd if=$T/rnd of=./ua bs=4096 seek=$1 skip=$3 count=$2 iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc 2>/dev/null
done
dropcaches
a=$(md5sum < $T/ref); b=$(md5sum < ./ua)
[ "$a" = "$b" ] || { say "md5 mismatch $a $b"; exit 1; }
[ "$(stat -c %s ./ua)" = "$(stat -c %s $T/ref)" ]
say "unaligned ok $(md5sum ./ua)"

say "deep mkdir -p"
mkdir -p d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20
echo deep > d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/leaf
[ "$(find d1 -type d | wc -l)" = 20 ]
[ "$(cat d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/leaf)" = deep ]

say "rename over an existing file"
echo one > r1; echo two > r2
mv r1 r2
[ "$(cat r2)" = one ]; [ ! -e r1 ]
mkdir rd1 rd2; echo x > rd1/f; mv rd1/f rd2/g; [ -f rd2/g ] && [ ! -e rd1/f ]

say "hard links"
echo linked > h1
ln h1 h2; ln h1 h3
[ "$(stat -c %h h1)" = 3 ]
rm h3; dropcaches
[ "$(stat -c %h h2)" = 2 ]
[ "$(stat -c %i h1)" = "$(stat -c %i h2)" ]
[ "$(cat h2)" = linked ]

say "symlinks"
ln -s r2 sl; ln -s /nonexistent/target dangling
[ "$(readlink sl)" = r2 ]; [ "$(cat sl)" = one ]
[ "$(readlink dangling)" = /nonexistent/target ]
[ -L dangling ] && [ ! -e dangling ]

say "chmod chown touch -d"
echo m > perm
if ! skip owner; then
chmod 640 perm
[ "$(stat -c %a perm)" = 640 ]
chmod 4755 perm; [ "$(stat -c %a perm)" = 4755 ]
chown 1234:5678 perm
[ "$(stat -c %u:%g perm)" = 1234:5678 ]
fi
touch -d '2001-02-03 04:05:06' perm
dropcaches
[ "$(stat -c %Y perm)" = "$(date -d '2001-02-03 04:05:06' +%s)" ]

say "special files"
if ! skip special; then
mkfifo fifo; [ -p fifo ]
mknod cdev c 1 3; [ -c cdev ]
[ "$(stat -c %t:%T cdev)" = "1:3" ]
rm fifo cdev
fi

say "truncate up and down"
echo 0123456789 > tr
truncate -s 3000000 tr; [ "$(stat -c %s tr)" = 3000000 ]
[ "$(dd if=tr bs=1 skip=2999990 count=10 2>/dev/null | md5sum)" = "$(dd if=/dev/zero bs=1 count=10 2>/dev/null | md5sum)" ]
truncate -s 4 tr; [ "$(stat -c %s tr)" = 4 ]; [ "$(cat tr)" = 0123 ]

say "two concurrent writers"
dd if=/dev/urandom of=$T/w1 bs=64k count=40 2>/dev/null
dd if=/dev/urandom of=$T/w2 bs=64k count=40 2>/dev/null
cp $T/w1 ./cw1 & p1=$!
cp $T/w2 ./cw2 & p2=$!
wait $p1; wait $p2
dropcaches
[ "$(md5sum < ./cw1)" = "$(md5sum < $T/w1)" ]
[ "$(md5sum < ./cw2)" = "$(md5sum < $T/w2)" ]

say "df"
df . | tail -1
[ "$(df . | tail -1 | awk '{print $2}')" -gt 0 ]

if [ -f $KNOBS/expect10k ]; then
  say "listing big10k"
  want=$(cat $KNOBS/expect10k)
  if skip longlist; then
    # Names only: the guest's busybox ls stats every entry, even without -l, and cifs.ko with modefromsid
    # fetches a security descriptor per stat (CREATE + QUERY_INFO + CLOSE, sealed, under TCG: ~14 ms an
    # entry). The shell's glob reads the directory (the QUERY_DIRECTORY paging that is checked here) and
    # stats nothing.
    ( cd big10k && printf '%s\n' * .* ) > $T/ls10k
    got=$(grep -c '^e[0-9]*$' $T/ls10k || true)
  else
    ls -la big10k > $T/ls10k
    got=$(grep -c ' e[0-9]*$' $T/ls10k || true)
  fi
  # Duplicates from the same listing: a second `ls` costs as much again (per-entry stats on cifs.ko).
  dup=$(awk '{print $NF}' $T/ls10k | sort | uniq -d | wc -l)
  say "big10k entries=$got dups=$dup want=$want"
  [ "$got" = "$want" ] && [ "$dup" = 0 ]
fi

say "cleanup"
rm -rf tree tarx d1 rd1 rd2
rm -f r2 h1 h2 sl dangling perm tr cw1 cw2
say "ALL OK"
