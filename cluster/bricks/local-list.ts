/**
 * Listing a flat-1 brick directory (local-brick.ts) in `compareObjectIds` order, for heal and rebalance
 * scans. The layout spreads files over 256 fan-out directories by the low byte of the inode number, so
 * "the next N objects by fileId" needs every fan-out directory. Reading all 256 for every page would make a
 * scan quadratic; instead a scan starts with a snapshot of the sorted file ids (8 bytes each: 8 MiB for a
 * million files), and later pages binary-search it. The snapshot is retaken when a scan starts
 * (`after` undefined) or when it is older than SNAPSHOT_TTL_MS. Files created after the snapshot was taken
 * are missed by that scan; that is the contract of HealableBrick.list (writes racing a scan are the heal
 * log's business).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { ObjectId, ObjectInfo } from './brick';
import { toCoreError } from './errno';
import type { LocalBrick } from './local-brick';

const SNAPSHOT_TTL_MS = 60_000;
const FILE_NAME = /^[0-9a-f]{16}(\.d)?$/;
const CHUNK_NAME = /^[1-9][0-9]{0,9}$/;

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return [];
    throw e;
  }
}

async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    const st = await fs.promises.stat(path);
    return st.isFile() ? st.size : undefined;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** First index in sorted `ids` whose value is >= v. */
function lowerBound(ids: BigUint64Array, v: bigint): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LocalLister {
  private snapshot?: { ids: BigUint64Array; at: number };

  constructor(private readonly brick: LocalBrick) {}

  async list(after: ObjectId | undefined, limit: number): Promise<ObjectInfo[]> {
    try {
      if (!this.snapshot || after === undefined || Date.now() - this.snapshot.at > SNAPSHOT_TTL_MS) this.snapshot = { ids: await this.fileIds(), at: Date.now() };
      const ids = this.snapshot.ids;
      const out: ObjectInfo[] = [];
      for (let i = after === undefined ? 0 : lowerBound(ids, after.fileId); i < ids.length && out.length < limit; i++) {
        const fileId = ids[i]!;
        for (const o of await this.objectsOf(fileId)) {
          if (after !== undefined && fileId === after.fileId && o.id.chunk <= after.chunk) continue;
          if (out.length >= limit) break;
          out.push(o);
        }
      }
      return out;
    } catch (e) {
      throw toCoreError(e, `brick list ${this.brick.root}`);
    }
  }

  private async fileIds(): Promise<BigUint64Array> {
    const seen = new Set<bigint>();
    for (let ff = 0; ff < 256; ff++) {
      const dir = join(this.brick.root, (ff | 0x100).toString(16).slice(1));
      for (const name of await readdirOrEmpty(dir)) if (FILE_NAME.test(name)) seen.add(BigInt(`0x${name.slice(0, 16)}`));
    }
    const ids = BigUint64Array.from(seen);
    ids.sort();
    return ids;
  }

  /** A file's objects in chunk order, with sizes (objects that vanish meanwhile are left out). */
  private async objectsOf(fileId: bigint): Promise<ObjectInfo[]> {
    const chunks = (await readdirOrEmpty(this.brick.chunkDir(fileId))).filter((n) => CHUNK_NAME.test(n)).map(Number);
    chunks.sort((a, b) => a - b);
    chunks.unshift(0);
    const sizes = await Promise.all(chunks.map((chunk) => sizeOrUndefined(this.brick.objectPath({ fileId, chunk }))));
    const out: ObjectInfo[] = [];
    chunks.forEach((chunk, i) => {
      const size = sizes[i];
      if (size !== undefined) out.push({ id: { fileId, chunk }, size });
    });
    return out;
  }
}
