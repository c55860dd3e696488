/**
 * Placement (DESIGN invariant 5): which bricks hold the replicas of a chunk object is computed, never
 * stored per chunk. Rendezvous (highest-random-weight) hashing: every brick gets a pseudo-random score
 * for the object, and the R highest scores win. Adding a brick to N moves only the objects for which the
 * new brick now scores in the top R (about R/(N+1) of them, one replica each, i.e. about 1/(N+1) of the
 * stored copies); removing one moves only the copies it held. Nothing else changes place.
 *
 * Scores depend on the brick's stable id (chosen at `volume create` / `add-brick`), never on its
 * address, so moving a brick to a new host:port moves no data.
 */
import { createHash } from 'node:crypto';
import { CoreError, Errc } from '../vfs/errors';
import type { ObjectId } from './brick';

export const BRICK_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function checkBrickId(id: string): string {
  if (!BRICK_ID_RE.test(id)) throw new CoreError(Errc.INVAL, `brick id ${JSON.stringify(id)}: 1-64 of [A-Za-z0-9._-]`);
  return id;
}

interface Seeded {
  id: string;
  a: number;
  b: number;
}

function seedOf(id: string): Seeded {
  const h = createHash('sha256').update(id, 'utf8').digest();
  return { id, a: h.readInt32LE(0), b: h.readInt32LE(4) };
}

/**
 * A 53-bit score of (brick, object): two 32-bit multiply-xorshift lanes seeded by the brick, fed the
 * object's three words, then cross-mixed (the finaliser of cyrb53). Not cryptographic; it needs only to
 * be deterministic and evenly spread, and cheap enough to run per chunk on the data path.
 */
function score(s: Seeded, lo: number, hi: number, chunk: number): number {
  let h1 = s.a ^ 0x2545f491;
  let h2 = s.b ^ 0x41c6ce57;
  h1 = Math.imul(h1 ^ lo, 2654435761);
  h2 = Math.imul(h2 ^ lo, 1597334677);
  h1 = Math.imul(h1 ^ hi, 2654435761);
  h2 = Math.imul(h2 ^ hi, 1597334677);
  h1 = Math.imul(h1 ^ chunk, 2654435761);
  h2 = Math.imul(h2 ^ chunk, 1597334677);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export class Placement {
  private readonly seeds: Seeded[];

  /** `brickIds`: the volume's brick set (order does not matter). */
  constructor(brickIds: readonly string[]) {
    const seen = new Set<string>();
    for (const id of brickIds) {
      checkBrickId(id);
      if (seen.has(id)) throw new CoreError(Errc.INVAL, `brick id ${id} listed twice`);
      seen.add(id);
    }
    // Sorted so that ties (astronomically rare) break the same way whatever order the ids came in.
    this.seeds = [...seen].sort().map(seedOf);
  }

  get brickIds(): string[] {
    return this.seeds.map((s) => s.id);
  }

  get size(): number {
    return this.seeds.length;
  }

  /**
   * The `r` bricks holding the object, best first (the first is the preferred read replica before
   * load spreading). Fewer if the set has fewer than `r` bricks.
   */
  replicas(id: ObjectId, r: number): string[] {
    const lo = Number(id.fileId & 0xffff_ffffn) | 0;
    const hi = Number((id.fileId >> 32n) & 0xffff_ffffn) | 0;
    const chunk = id.chunk | 0;
    const n = this.seeds.length;
    if (r >= n) {
      // Every brick holds it; still ordered by score so reads spread the same way.
      return this.seeds
        .map((s) => ({ id: s.id, v: score(s, lo, hi, chunk) }))
        .sort((x, y) => y.v - x.v || (x.id < y.id ? -1 : 1))
        .map((x) => x.id);
    }
    // Top-r selection without sorting the whole set (r ≤ 3).
    const best: { id: string; v: number }[] = [];
    for (const s of this.seeds) {
      const v = score(s, lo, hi, chunk);
      if (best.length === r && v <= best[r - 1]!.v) continue;
      let i = best.length;
      while (i > 0 && best[i - 1]!.v < v) i--;
      best.splice(i, 0, { id: s.id, v });
      if (best.length > r) best.pop();
    }
    return best.map((x) => x.id);
  }
}
