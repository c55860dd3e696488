/**
 * The seeded generator every fuzz test uses (xorshift32): a failing seed printed by a test replays the
 * same inputs on any machine. Returns floats in [0, 1).
 */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}
