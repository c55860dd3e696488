/**
 * The MOUNT "who has what mounted" list (DUMP, UMNT, UMNTALL). Advisory only, as in every NFSv3 server: it
 * lives in this gateway's memory, is lost on restart or failover, and is bounded (oldest entries dropped).
 */
export interface MountEntry {
  host: string;
  dirpath: string;
}

export class MountList {
  private readonly entries = new Map<string, MountEntry>();

  constructor(private readonly max = 4096) {}

  private static key(host: string, dirpath: string): string {
    return `${host}\0${dirpath}`;
  }

  add(host: string, dirpath: string): void {
    const k = MountList.key(host, dirpath);
    this.entries.delete(k); // re-insert: most recent last
    this.entries.set(k, { host, dirpath });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  remove(host: string, dirpath: string): void {
    this.entries.delete(MountList.key(host, dirpath));
  }

  removeHost(host: string): void {
    for (const [k, e] of this.entries) if (e.host === host) this.entries.delete(k);
  }

  list(): MountEntry[] {
    return [...this.entries.values()];
  }
}
