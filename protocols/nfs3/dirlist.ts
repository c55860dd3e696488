/**
 * READDIR / READDIRPLUS paging over the core's `readdir`, with exact XDR size accounting.
 *
 * Cookies: the core does not invent '.' and '..'; NFSv3 clients expect them, so they are added here on the
 * wire with cookie 1 ('.') and 2 ('..'). Core cookies are passed through unchanged and must be ≥ 3 (the same
 * reservation NFSv4 makes, so one core cookie space serves both); a core cookie ≤ 2 is a core bug and fails
 * the call loudly rather than repeating or skipping entries. A client cookie of 1 or 2 resumes at the start
 * of the core listing (core cookie 0, no verifier needed).
 *
 * Verifiers: a non-zero core cookie is sent with the client's cookieverf. An all-zero cookieverf with a
 * non-zero cookie is accepted, as Linux knfsd does (it ignores verifiers): the directory's current verifier
 * is fetched first (one extra one-entry core call) and used instead, so the cookie itself is still checked.
 *
 * Sizes: the reply body (status word + resok) never exceeds min(count|maxcount, limits.maxRead). READDIRPLUS
 * also keeps the entries' directory part (entry3-sized: link + fileid + name + cookie) within dircount, except
 * that the first entry is always allowed by dircount. If not even one entry fits maxcount: NFS3ERR_TOOSMALL.
 */
import { CoreError, Errc, isCoreError } from '../../cluster/vfs/errors';
import type { Attr, DirEntry, Handle, ReaddirResult } from '../../cluster/vfs/types';
import type { Nfs3Context } from './procedure';
import { FATTR3_SIZE, pad4, postOpFhSize } from './xdr';

export const COOKIE_DOT = 1n;
export const COOKIE_DOTDOT = 2n;
/** Smallest cookie the core may hand out. */
export const FIRST_CORE_COOKIE = 3n;

/** status + post_op_attr(dir, present) + cookieverf3 + end-of-list FALSE + eof. */
export const DIRLIST_FIXED_BYTES = 4 + (4 + FATTR3_SIZE) + 8 + 4 + 4;
/** value_follows + fileid3 + name length + cookie3 (the name's padded bytes come on top). */
const ENTRY3_BASE = 4 + 8 + 4 + 8;
/** Upper bound on entries asked of the core in one call. */
const MAX_BATCH = 1024;
/** Consecutive empty, non-eof core pages tolerated before a short (eof=false) reply. */
const MAX_EMPTY_BATCHES = 3;

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

export interface DirListEntry {
  fileid: bigint;
  name: Buffer;
  cookie: bigint;
  attr?: Attr;
  handle?: Handle;
}

export interface DirListRequest {
  dir: Handle;
  cookie: bigint;
  cookieverf: Buffer;
  /** READDIR count / READDIRPLUS maxcount. */
  maxBytes: number;
  /** READDIRPLUS dircount; Infinity for READDIR. */
  maxDirBytes: number;
  plus: boolean;
}

export interface DirListPage {
  dirAttr: Attr;
  verifier: Buffer;
  entries: DirListEntry[];
  eof: boolean;
  /**
   * Set when every entry came, in order, from the start of one core batch (no '.'/'..'): that batch's
   * first core entry. The core hands out the same entry objects again only while nothing has changed
   * (cluster/vfs/listing-pages.ts), so the READDIRPLUS encoder may key encoded bytes on it.
   */
  firstCore?: DirEntry;
}

export function entryDirBytes(nameLen: number): number {
  return ENTRY3_BASE + pad4(nameLen);
}

/** Exact encoded size of one entry3 / entryplus3 including its value_follows word. */
export function entryBytes(e: DirListEntry, plus: boolean): number {
  const base = entryDirBytes(e.name.length);
  if (!plus) return base;
  return base + 4 + (e.attr ? FATTR3_SIZE : 0) + postOpFhSize(e.handle);
}

function isZero(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

async function dotdotEntry(ctx: Nfs3Context, dir: Handle, dirAttr: Attr, plus: boolean): Promise<DirListEntry> {
  try {
    const r = await ctx.fs.lookup(ctx.cred, dir, DOTDOT);
    return plus
      ? { fileid: r.attr.fileId, name: DOTDOT, cookie: COOKIE_DOTDOT, attr: r.attr, handle: r.handle }
      : { fileid: r.attr.fileId, name: DOTDOT, cookie: COOKIE_DOTDOT };
  } catch (e) {
    if (!isCoreError(e)) throw e;
    // Listing is allowed where looking up '..' is not (no search permission): name it without attributes.
    return { fileid: dirAttr.fileId, name: DOTDOT, cookie: COOKIE_DOTDOT };
  }
}

function fromCore(e: DirEntry, plus: boolean): DirListEntry {
  if (e.cookie < FIRST_CORE_COOKIE) {
    throw new Error(`core readdir cookie ${e.cookie} collides with the NFSv3 cookies reserved for '.'/'..' (0..2)`);
  }
  const out: DirListEntry = { fileid: e.fileId, name: e.name, cookie: e.cookie };
  if (plus) {
    if (e.attr) out.attr = e.attr;
    if (e.handle) out.handle = e.handle;
  }
  return out;
}

export async function listDir(ctx: Nfs3Context, req: DirListRequest): Promise<DirListPage> {
  const { fs, cred } = ctx;
  const room = Math.min(req.maxBytes, fs.limits.maxRead) - DIRLIST_FIXED_BYTES;

  let synth: Array<'.' | '..'>;
  let coreCookie = 0n;
  let coreVerf: Buffer | undefined;
  if (req.cookie === 0n) synth = ['.', '..'];
  else if (req.cookie === COOKIE_DOT) synth = ['..'];
  else if (req.cookie === COOKIE_DOTDOT) synth = [];
  else {
    synth = [];
    coreCookie = req.cookie;
    coreVerf = isZero(req.cookieverf) ? undefined : req.cookieverf;
  }

  const perEntryGuess = req.plus ? 160 : 32;
  const batchFor = (bytes: number): number => Math.max(1, Math.min(MAX_BATCH, Math.ceil(Math.max(bytes, 0) / perEntryGuess) + 1));

  if (coreCookie !== 0n && coreVerf === undefined) {
    coreVerf = (await fs.readdir(cred, req.dir, 0n, undefined, 1, false)).verifier;
  }
  let batch: ReaddirResult = await fs.readdir(cred, req.dir, coreCookie, coreVerf, batchFor(room), req.plus);
  let dirAttr = batch.dirAttr;
  let verifier = batch.verifier;
  if (room < 0) throw new CoreError(Errc.TOOSMALL, `count ${req.maxBytes} below the fixed reply size`);

  const entries: DirListEntry[] = [];
  let used = 0;
  let dirUsed = 0;
  const add = (e: DirListEntry): boolean => {
    const cost = entryBytes(e, req.plus);
    const dcost = entryDirBytes(e.name.length);
    if (used + cost > room) return false;
    if (entries.length > 0 && dirUsed + dcost > req.maxDirBytes) return false;
    entries.push(e);
    used += cost;
    dirUsed += dcost;
    return true;
  };

  let full = false;
  for (const s of synth) {
    const e =
      s === '.'
        ? req.plus
          ? { fileid: dirAttr.fileId, name: DOT, cookie: COOKIE_DOT, attr: dirAttr, handle: req.dir }
          : { fileid: dirAttr.fileId, name: DOT, cookie: COOKIE_DOT }
        : await dotdotEntry(ctx, req.dir, dirAttr, req.plus);
    if (!add(e)) {
      full = true;
      break;
    }
  }

  let eof = false;
  let empty = 0;
  const firstCore = synth.length === 0 ? batch.entries[0] : undefined;
  let batches = 0;
  while (!full) {
    batches++;
    for (const c of batch.entries) {
      if (!add(fromCore(c, req.plus))) {
        full = true;
        break;
      }
    }
    if (full) break;
    if (batch.eof) {
      eof = true;
      break;
    }
    if (batch.entries.length === 0) {
      if (++empty > MAX_EMPTY_BATCHES) break;
    } else {
      empty = 0;
      coreCookie = batch.entries[batch.entries.length - 1]!.cookie;
    }
    batch = await fs.readdir(cred, req.dir, coreCookie, verifier, batchFor(room - used), req.plus);
    dirAttr = batch.dirAttr;
    verifier = batch.verifier;
  }

  if (full && entries.length === 0) throw new CoreError(Errc.TOOSMALL, `count ${req.maxBytes} too small for one entry`);
  const page: DirListPage = { dirAttr, verifier, entries, eof };
  if (firstCore && batches === 1 && entries.length > 0) page.firstCore = firstCore;
  return page;
}
