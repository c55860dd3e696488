/**
 * Finished readdir pages of a volume, reused while nothing in the metadata store has changed.
 *
 * Why: a client lists a big directory in many small pages (libnfs: 8 KiB READDIRPLUS replies, about 50
 * entries), one round trip at a time, and every page used to read each entry's inode from the store and
 * build its attributes and handle again. With the store unchanged since a page was built, building it
 * again gives the same entries, attributes and handles, so the page itself is kept.
 *
 * Validity: a page is served only while the store's write epoch (Kv.writeEpoch) is the one it was built
 * under, and only if no write happened while it was being built; the epoch moves with every write set
 * applied to the store, anywhere in the volume, so a page never outlives any change to a directory entry,
 * an inode's attributes or the directory itself. Engines that cannot tell (Redis, shared by several
 * gateways) have no epoch, and nothing is kept. The caller still resolves the directory, checks the
 * caller's permission and the cookie verifier on every call; only the page's contents come from here.
 *
 * Bounded: at most MAX_ENTRIES entries over all pages (then the pages are dropped and refilled).
 */
import type { DirEntry } from './types';

const MAX_ENTRIES = 32768;
const MAX_PAGES = 4096;

export interface KeptPage {
  /** Shared between calls: readers must not modify the array or its entries. */
  readonly entries: readonly DirEntry[];
  readonly eof: boolean;
}

export class ListingPages {
  private epoch: number | undefined;
  private readonly pages = new Map<string, KeptPage>();
  private entries = 0;

  constructor(private readonly epochNow: () => number | undefined) {}

  static key(dirId: bigint, exportId: number, after: bigint, limit: number, withAttrs: boolean): string {
    return `${dirId}/${exportId}/${after}/${limit}/${withAttrs ? 1 : 0}`;
  }

  /** The store's epoch now, to pass to `put` (undefined: this engine has none, keep nothing). */
  begin(): number | undefined {
    const e = this.epochNow();
    if (e !== this.epoch) {
      this.pages.clear();
      this.entries = 0;
      this.epoch = e;
    }
    return e;
  }

  get(key: string): KeptPage | undefined {
    const e = this.epochNow();
    if (e === undefined || e !== this.epoch) return undefined;
    return this.pages.get(key);
  }

  /** Keeps a page built entirely under `epoch` (from `begin`): dropped if the store changed meanwhile. */
  put(key: string, epoch: number | undefined, page: KeptPage): void {
    if (epoch === undefined || this.epochNow() !== epoch || this.epoch !== epoch || this.pages.has(key)) return;
    if (this.entries + page.entries.length > MAX_ENTRIES || this.pages.size >= MAX_PAGES) {
      this.pages.clear();
      this.entries = 0;
    }
    this.pages.set(key, page);
    this.entries += page.entries.length;
  }
}
