/**
 * Wall-clock time in nanoseconds, strictly increasing within the process (so two changes in a row get
 * different mtimes/ctimes even when the OS clock is coarse). Resolution follows hrtime between
 * Date.now() samples.
 */
const baseWall = BigInt(Date.now()) * 1_000_000n;
const baseHr = process.hrtime.bigint();
let last = 0n;

export function nowNs(): bigint {
  let t = baseWall + (process.hrtime.bigint() - baseHr);
  if (t <= last) t = last + 1n;
  last = t;
  return t;
}
