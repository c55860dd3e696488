/**
 * NFSv4.1 load generator for `npm run bench` (bench/run.sh targets nfs4 / ganesha4). No userspace NFSv4.1
 * client exists on the bench machine (libnfs 5.0.2 speaks 4.0 only), so this one is built from our own
 * codecs: EXCHANGE_ID, CREATE_SESSION, then every COMPOUND starts with SEQUENCE on a slot of its own. It runs
 * the same two workloads as the NFSv3 bench, shaped the way the Linux client shapes them, and identically
 * against any server:
 *
 *   seq:  OPEN(create) → SIZE MiB of 1 MiB WRITEs (UNSTABLE) → COMMIT → CLOSE, timed from OPEN to CLOSE;
 *         then OPEN(read) → 1 MiB READs until eof → CLOSE. `--qd` WRITEs/READs in flight (1 = like nfs-cp).
 *   meta: the phases of the kit's nfs_meta with -c jobs in flight on one connection: N × (OPEN create,
 *         WRITE FILE_SYNC of -s bytes, CLOSE); N × (LOOKUP + GETATTR); D × (OPEN create, CLOSE) in one
 *         directory; R listings of it (READDIR with the attributes `ls -l` needs); N + D REMOVEs.
 *
 * Non-idempotent COMPOUNDs (OPEN, CLOSE, REMOVE) set sa_cachethis as Linux does; READ/WRITE/GETATTR do not.
 * Output: "name value" lines with the kit's names (seq_write_MiBps …, create_write_close_files_per_s …), one
 * set per run, for the kit's lib/stats.py. Exit status 1 on any failed operation.
 *
 * usage: node dist/test/e2e/nfs41-bench.js seq|meta --port P [--host 127.0.0.1] [--export /data]
 *        seq:  [--size MiB (1024)] [--runs N (3)] [--qd N (1)]
 *        meta: [--runs N (1)] [-n 2000] [-s 4096] [-d 10000] [-r 3] [-c 16]
 */
import { randomFillSync } from 'node:crypto';
import { FATTR4_CHANGE, FATTR4_FILEID, FATTR4_FSID, FATTR4_MODE, FATTR4_MOUNTED_ON_FILEID, FATTR4_NUMLINKS, FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_RAWDEV, FATTR4_SIZE, FATTR4_SPACE_USED, FATTR4_TIME_ACCESS, FATTR4_TIME_METADATA, FATTR4_TIME_MODIFY, FATTR4_TYPE, encodeSetAttrs } from '../../protocols/nfs4/attrs';
import { decodeCOMPOUND4res, encodeCOMPOUND4args, type ArgOp } from '../../protocols/nfs4/compound';
import type { CREATE_SESSION4resok } from '../../protocols/nfs4/ops/create-session';
import type { EXCHANGE_ID4resok } from '../../protocols/nfs4/ops/exchange-id';
import type { GETFH4resok } from '../../protocols/nfs4/ops/getfh';
import type { OPEN4resok } from '../../protocols/nfs4/ops/open';
import type { READDIR4resok } from '../../protocols/nfs4/ops/readdir';
import { createmode4, nfsstat4, open_claim_type4, opentype4, stable_how4, type COMPOUND4res, type stateid4 } from '../../protocols/nfs4/types';
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import type { XdrReader } from '../../protocols/xdr/reader';
import { DEFAULT_FORE, op } from '../proc/nfs4/harness';

const auth: AuthSys = { stamp: 1, machineName: 'nfs41-bench', uid: 0, gid: 0, gids: [] };
const MiB = 1024 * 1024;
const LS_ATTRS = [
  FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FSID, FATTR4_FILEID, FATTR4_MODE, FATTR4_NUMLINKS, FATTR4_OWNER, FATTR4_OWNER_GROUP,
  FATTR4_RAWDEV, FATTR4_SPACE_USED, FATTR4_TIME_ACCESS, FATTR4_TIME_METADATA, FATTR4_TIME_MODIFY, FATTR4_MOUNTED_ON_FILEID,
];
const OPEN_ATTRS = [FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID, FATTR4_MODE, FATTR4_TIME_MODIFY];
const SHARE_READ = 1;
const SHARE_BOTH = 3;

class OpError extends Error {}

/** One NFSv4.1 session over one TCP connection; `slots` COMPOUNDs may be in flight. */
export class Session41 {
  private readonly free: number[] = [];
  private readonly seq: number[] = [];
  private readonly waiters: ((slot: number) => void)[] = [];
  private sessionid: Buffer = Buffer.alloc(16);
  private clientid = 0n;
  private highest = 0;

  private constructor(private readonly rpc: RpcClient) {}

  static async open(host: string, port: number, slots: number): Promise<Session41> {
    const s = new Session41(await RpcClient.connect({ host, port, timeoutMs: 120_000, maxRecordBytes: 4 * MiB }));
    const owner = `nfs41-bench-${process.pid}-${Date.now()}`;
    const ex = s.ok<EXCHANGE_ID4resok>(await s.raw([op.exchangeId(owner, Buffer.from(Date.now().toString(16).padStart(8, '0').slice(-8)))]), 0);
    const fore = { ...DEFAULT_FORE, ca_maxrequestsize: MiB + 64 * 1024, ca_maxresponsesize: MiB + 64 * 1024, ca_maxrequests: slots };
    const cs = s.ok<CREATE_SESSION4resok>(await s.raw([op.createSession(ex.eir_clientid, ex.eir_sequenceid, fore)]), 0);
    s.clientid = ex.eir_clientid;
    s.sessionid = cs.csr_sessionid;
    const granted = Math.max(1, Math.min(slots, cs.csr_fore_chan_attrs.ca_maxrequests));
    for (let i = granted - 1; i >= 0; i--) s.free.push(i);
    for (let i = 0; i < granted; i++) s.seq.push(1);
    s.highest = granted - 1;
    const rc = await s.run([op.reclaimComplete()], true);
    if (rc.status !== nfsstat4.NFS4_OK) throw new OpError(`RECLAIM_COMPLETE: ${nfsstat4[rc.status]}`);
    return s;
  }

  get slots(): number {
    return this.seq.length;
  }

  get owner(): { clientid: bigint; owner: Buffer } {
    return { clientid: this.clientid, owner: Buffer.from('bench-owner') };
  }

  private raw(ops: readonly ArgOp[]): Promise<COMPOUND4res> {
    return this.rpc.call(100003, 4, 1, (w) => encodeCOMPOUND4args(w, '', 1, ops), { auth }).then(decodeCOMPOUND4res);
  }

  private async slot(): Promise<number> {
    const s = this.free.pop();
    if (s !== undefined) return s;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(slot: number): void {
    const w = this.waiters.shift();
    if (w) w(slot);
    else this.free.push(slot);
  }

  /** SEQUENCE + ops; `decode` reads the reply itself (hot paths), else the generic decoder. */
  async run(ops: readonly ArgOp[], cachethis = false): Promise<COMPOUND4res> {
    const body = await this.call(ops, cachethis);
    return decodeCOMPOUND4res(body);
  }

  async call(ops: readonly ArgOp[], cachethis: boolean): Promise<XdrReader> {
    const slot = await this.slot();
    const all = [op.sequence(this.sessionid, this.seq[slot]!, slot, cachethis), ...ops];
    (all[0]!.args as { sa_highest_slotid: number }).sa_highest_slotid = this.highest;
    try {
      const body = await this.rpc.call(100003, 4, 1, (w) => encodeCOMPOUND4args(w, '', 1, all), { auth });
      this.seq[slot] = (this.seq[slot]! + 1) >>> 0;
      return body;
    } finally {
      this.release(slot);
    }
  }

  ok<T>(res: COMPOUND4res, i: number): T {
    if (res.status !== nfsstat4.NFS4_OK) throw new OpError(`COMPOUND: ${nfsstat4[res.status]} (${res.resarray.map((r) => nfsstat4[r.status]).join(',')})`);
    return res.resarray[i]!.res as T;
  }

  async close(): Promise<void> {
    try {
      await this.raw([op.destroySession(this.sessionid)]);
      await this.raw([op.destroyClientid(this.clientid)]);
    } finally {
      await this.rpc.close();
    }
  }
}

/**
 * A SEQUENCE + PUTFH + READ|WRITE reply read in place: the status of each op, then READ's eof and data
 * length or WRITE's count (the data is not copied out: only its length matters here).
 */
function ioReply(r: XdrReader): { eof: boolean; count: number } {
  const status = r.uint32();
  r.skip((r.uint32() + 3) & ~3); // tag
  const n = r.uint32();
  if (status !== nfsstat4.NFS4_OK || n !== 3) throw new OpError(`I/O COMPOUND: ${nfsstat4[status] ?? status} (${n} results)`);
  r.skip(8); // SEQUENCE: resop, status (OK: the COMPOUND is OK)
  r.skip(16 + 4 * 5); // SEQUENCE4resok
  r.skip(8); // PUTFH: resop, status
  const opnum = r.uint32();
  r.uint32(); // status (OK)
  if (opnum === 25 /* READ */) {
    const eof = r.uint32() !== 0;
    return { eof, count: r.uint32() };
  }
  return { eof: false, count: r.uint32() };
}

function openArgs(s: Session41, name: string, create: boolean, access: number): ArgOp {
  return op.open({
    seqid: 0,
    share_access: access,
    share_deny: 0,
    owner: s.owner,
    openhow: create ? { opentype: opentype4.OPEN4_CREATE, how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({ mode: 0o644 }) } } : { opentype: opentype4.OPEN4_NOCREATE },
    claim: { claim: open_claim_type4.CLAIM_NULL, file: Buffer.from(name) },
  });
}

/** OPEN dir/name → file handle and open stateid. */
export async function openFile(s: Session41, dir: Buffer, name: string, create: boolean, access = SHARE_BOTH): Promise<{ fh: Buffer; stateid: stateid4 }> {
  const res = await s.run([op.putfh(dir), openArgs(s, name, create, access), op.getfh(), op.getattr(...OPEN_ATTRS)], true);
  const o = s.ok<OPEN4resok>(res, 2);
  return { fh: s.ok<GETFH4resok>(res, 3).object, stateid: o.stateid };
}

export async function closeFile(s: Session41, fh: Buffer, stateid: stateid4): Promise<void> {
  s.ok(await s.run([op.putfh(fh), op.close(stateid)], true), 2);
}

export async function lookupPath(s: Session41, path: string): Promise<Buffer> {
  const parts = path.split('/').filter((p) => p);
  const res = await s.run([op.putrootfh(), ...parts.map((p) => op.lookup(p)), op.getfh()]);
  return s.ok<GETFH4resok>(res, parts.length + 2).object;
}

export async function mkdir(s: Session41, dir: Buffer, name: string): Promise<Buffer> {
  const res = await s.run([op.putfh(dir), op.mkdir(name), op.getfh()], true);
  return s.ok<GETFH4resok>(res, 3).object;
}

export async function remove(s: Session41, dir: Buffer, name: string): Promise<void> {
  s.ok(await s.run([op.putfh(dir), op.remove(name)], true), 2);
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

/** Runs `fn` over `count` slots with up to `inflight` at once; resolves when all are done. */
export async function pool(count: number, inflight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < count && failed === undefined) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
  if (failed !== undefined) throw failed;
}

async function seqRun(s: Session41, root: Buffer, sizeMiB: number, qd: number, src: Buffer): Promise<void> {
  const name = `seq-nfs41-${process.pid}.dat`;
  const srcPieces = src.length / MiB;
  // write: OPEN(create) … CLOSE
  let t0 = now();
  const w = await openFile(s, root, name, true);
  let verf: Buffer | undefined;
  await pool(sizeMiB, qd, async (i) => {
    const data = src.subarray((i % srcPieces) * MiB, (i % srcPieces + 1) * MiB);
    const r = ioReply(await s.call([op.putfh(w.fh), op.write(w.stateid, BigInt(i) * BigInt(MiB), data, stable_how4.UNSTABLE4)], false));
    if (r.count !== MiB) throw new OpError(`short WRITE: ${r.count}`);
  });
  const cm = await s.run([op.putfh(w.fh), op.commit(0n, 0)]);
  verf = s.ok<{ writeverf: Buffer }>(cm, 2).writeverf;
  await closeFile(s, w.fh, w.stateid);
  let t1 = now();
  if (!verf) throw new OpError('no COMMIT verifier');
  console.log(`seq_write_MiBps ${(sizeMiB / (t1 - t0)).toFixed(1)}`);
  // read: OPEN(read) … READ until eof … CLOSE
  t0 = now();
  const rd = await openFile(s, root, name, false, SHARE_READ);
  let total = 0;
  let eof = false;
  await pool(sizeMiB + 1, qd, async (i) => {
    if (eof) return;
    const r = ioReply(await s.call([op.putfh(rd.fh), op.read(rd.stateid, BigInt(i) * BigInt(MiB), MiB)], false));
    total += r.count;
    if (r.eof || r.count < MiB) eof = true;
  });
  await closeFile(s, rd.fh, rd.stateid);
  t1 = now();
  if (total !== sizeMiB * MiB) throw new OpError(`read ${total} bytes, expected ${sizeMiB * MiB}`);
  console.log(`seq_read_MiBps ${(sizeMiB / (t1 - t0)).toFixed(1)}`);
  await remove(s, root, name);
}

interface MetaOpts {
  n: number;
  size: number;
  d: number;
  reps: number;
  c: number;
}

async function phase(name: string, unit: string, count: number, inflight: number, fn: (i: number) => Promise<void>): Promise<void> {
  const lat: number[] = new Array<number>(count);
  const c0 = process.cpuUsage();
  const t0 = now();
  await pool(count, inflight, async (i) => {
    const a = now();
    await fn(i);
    lat[i] = now() - a;
  });
  const t1 = now();
  const cpu = process.cpuUsage(c0);
  lat.sort((x, y) => x - y);
  console.log(`${name}_${unit} ${(count / (t1 - t0)).toFixed(1)}`);
  console.log(`${name}_seconds ${(t1 - t0).toFixed(3)}`);
  console.log(`${name}_client_cpu_pct ${((100 * (cpu.user + cpu.system)) / 1e6 / (t1 - t0)).toFixed(1)}`);
  console.log(`${name}_lat_p50_us ${(lat[count >> 1]! * 1e6).toFixed(1)}`);
  console.log(`${name}_lat_p99_us ${(lat[Math.floor(count * 0.99)]! * 1e6).toFixed(1)}`);
}

async function listDir(s: Session41, dir: Buffer): Promise<number> {
  let cookie = 0n;
  let verf: Buffer = Buffer.alloc(8);
  let count = 0;
  for (;;) {
    const res = await s.run([op.putfh(dir), op.readdir(cookie, verf, 32768, LS_ATTRS)]);
    const r = s.ok<READDIR4resok>(res, 2);
    count += r.entries.length;
    if (r.eof || r.entries.length === 0) return count;
    cookie = r.entries[r.entries.length - 1]!.cookie;
    verf = r.cookieverf;
  }
}

async function metaRun(s: Session41, root: Buffer, o: MetaOpts): Promise<void> {
  const base = `nfs41meta.${process.pid}.${Math.floor(Date.now() / 1000)}`;
  const top = await mkdir(s, root, base);
  const small = await mkdir(s, top, 'small');
  const big = await mkdir(s, top, 'big');
  const wbuf = Buffer.alloc(o.size);
  for (let i = 0; i < o.size; i++) wbuf[i] = 97 + (i % 26);
  const fname = (i: number): string => `f${String(i).padStart(6, '0')}`;
  const ename = (i: number): string => `e${String(i).padStart(6, '0')}`;
  console.log(`config files=${o.n} size=${o.size} dirents=${o.d} inflight=${o.c} slots=${s.slots}`);
  await phase('create_write_close', 'files_per_s', o.n, o.c, async (i) => {
    const f = await openFile(s, small, fname(i), true);
    if (o.size > 0) {
      const w = s.ok<{ count: number }>(await s.run([op.putfh(f.fh), op.write(f.stateid, 0n, wbuf, stable_how4.FILE_SYNC4)]), 2);
      if (w.count !== o.size) throw new OpError(`short WRITE ${w.count}`);
    }
    await closeFile(s, f.fh, f.stateid);
  });
  await phase('stat', 'ops_per_s', o.n, o.c, async (i) => {
    s.ok(await s.run([op.putfh(small), op.lookup(fname(i)), op.getfh(), op.getattr(...LS_ATTRS)]), 4);
  });
  if (o.d > 0) {
    await phase('create_empty', 'files_per_s', o.d, o.c, async (i) => {
      const f = await openFile(s, big, ename(i), true);
      await closeFile(s, f.fh, f.stateid);
    });
    const rd: number[] = [];
    for (let r = 0; r < o.reps; r++) {
      const t0 = now();
      const n = await listDir(s, big);
      rd.push(now() - t0);
      if (n < o.d) throw new OpError(`READDIR listed ${n} entries, expected ${o.d}`);
    }
    rd.sort((x, y) => x - y);
    const med = rd[rd.length >> 1]!;
    console.log(`readdir_${o.d}_entries_ms_median ${(med * 1e3).toFixed(1)}`);
    console.log(`readdir_entries_per_s ${(o.d / med).toFixed(1)}`);
  }
  await phase('unlink', 'ops_per_s', o.n, o.c, (i) => remove(s, small, fname(i)));
  if (o.d > 0) await phase('unlink_big', 'files_per_s', o.d, o.c, (i) => remove(s, big, ename(i)));
  await remove(s, top, 'small');
  await remove(s, top, 'big');
  await remove(s, root, base);
}

function parse(argv: string[]): { mode: string; flags: Map<string, string> } {
  const [mode, ...rest] = argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i]!;
    const v = rest[i + 1];
    if (!k.startsWith('-') || v === undefined) throw new Error(`bad argument ${k}`);
    flags.set(k.replace(/^-+/, ''), v);
  }
  if (mode !== 'seq' && mode !== 'meta') throw new Error('first argument: seq or meta');
  return { mode, flags };
}

function int(flags: Map<string, string>, k: string, dflt: number): number {
  const v = flags.get(k);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${k} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const { mode, flags } = parse(process.argv.slice(2));
  const host = flags.get('host') ?? '127.0.0.1';
  const port = int(flags, 'port', 2049);
  const exp = flags.get('export') ?? '/data';
  if (mode === 'seq') {
    const size = int(flags, 'size', 1024);
    const runs = int(flags, 'runs', 3);
    const qd = Math.max(1, int(flags, 'qd', 1));
    // 64 MiB of random data, cycled: no server can dedupe or compress it, and the client reads no file.
    const src = Buffer.allocUnsafe(Math.min(64, Math.max(1, size)) * MiB);
    randomFillSync(src);
    const s = await Session41.open(host, port, qd + 1);
    const root = await lookupPath(s, exp);
    for (let r = 0; r < runs; r++) await seqRun(s, root, size, qd, src);
    await s.close();
  } else {
    const o: MetaOpts = { n: int(flags, 'n', 2000), size: int(flags, 's', 4096), d: int(flags, 'd', 10000), reps: int(flags, 'r', 3), c: Math.max(1, int(flags, 'c', 16)) };
    const runs = int(flags, 'runs', 1);
    const s = await Session41.open(host, port, o.c);
    const root = await lookupPath(s, exp);
    for (let r = 0; r < runs; r++) await metaRun(s, root, o);
    await s.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`nfs41-bench: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
