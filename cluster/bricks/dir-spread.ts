/**
 * Marks a new brick directory as the top of a directory hierarchy (ext2/3/4's TOPDIR attribute, `chattr
 * +T`), so that the filesystem spreads the 256 fan-out directories created under it across its block
 * groups instead of packing them next to their parent.
 *
 * Why: ext4 places a new file's inode in its directory's block group. With every fan-out directory in
 * one group, every object of the brick is allocated from that group's inode bitmap, and concurrent
 * creates contend there. On ext4 without a journal it is much worse: the allocator skips inodes freed in
 * the last 5 minutes (300 s while their table block is dirty), checking each one, so after a few thousand
 * removals every create scans them all. perf of the gateway creating 4 KiB files over NFSv4.1 put
 * recently_deleted, the block lookups under it and find_inode_bit at about 39% of the gateway's samples;
 * with the fan-out directories spread, create+write+close of 2,000 files ran 1.31-2.09x as fast over
 * NFSv3, 4.0 and 4.1 (side-by-side A/B runs, docs/bench.md, session 10).
 *
 * Only the attribute is set, once, when the brick directory is created; an existing brick keeps its
 * fan-out directories where they are. Node has no ioctl, so this runs e2fsprogs' chattr (Debian installs
 * it with every system). Filesystems without the attribute (xfs, btrfs and tmpfs allocate their own way)
 * refuse it, and a missing chattr is fine too: the brick works the same, only without the spreading.
 */
import { execFile } from 'node:child_process';

const TIMEOUT_MS = 5000;

/** Sets the attribute where the filesystem and the system have it; never throws. */
export function markTopDir(dir: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('chattr', ['+T', dir], { timeout: TIMEOUT_MS, windowsHide: true }, () => resolve());
  });
}
