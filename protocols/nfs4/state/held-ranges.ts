/**
 * The byte ranges a lock stateid may still hold, as a sorted list of disjoint [start, end) pieces: LOCK
 * adds its range, LOCKU cuts its range out (POSIX owners unlock piecewise: one LOCK of 0-99 can be undone
 * by LOCKUs of 0-49 and 50-99). RELEASE_LOCKOWNER and FREE_STATEID answer NFS4ERR_LOCKS_HELD while it is
 * not empty. The lock type does not matter here (a downgrade keeps the range held), and neither do
 * adjacent pieces (they merge).
 */

export interface HeldRange {
  start: bigint;
  end: bigint;
}

/** Bound on pieces per stateid: past it, further pieces are merged into the last one (conservative). */
const MAX_PIECES = 1024;

/** `ranges` with [start, end) added (merged with what it overlaps or touches). */
export function addHeld(ranges: readonly HeldRange[], start: bigint, end: bigint): HeldRange[] {
  if (end <= start) return [...ranges];
  const out: HeldRange[] = [];
  let s = start;
  let e = end;
  let placed = false;
  for (const r of ranges) {
    if (r.end < s) out.push(r);
    else if (r.start > e) {
      if (!placed) {
        out.push({ start: s, end: e });
        placed = true;
      }
      out.push(r);
    } else {
      s = r.start < s ? r.start : s;
      e = r.end > e ? r.end : e;
    }
  }
  if (!placed) out.push({ start: s, end: e });
  if (out.length > MAX_PIECES) {
    const last = out.splice(MAX_PIECES - 1);
    out.push({ start: last[0]!.start, end: last[last.length - 1]!.end });
  }
  return out;
}

/** `ranges` minus [start, end): pieces outside survive, a piece spanning it splits in two. */
export function cutHeld(ranges: readonly HeldRange[], start: bigint, end: bigint): HeldRange[] {
  const out: HeldRange[] = [];
  for (const r of ranges) {
    if (r.end <= start || r.start >= end) {
      out.push(r);
      continue;
    }
    if (r.start < start) out.push({ start: r.start, end: start });
    if (r.end > end) out.push({ start: end, end: r.end });
  }
  return out;
}
