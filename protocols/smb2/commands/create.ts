/**
 * CREATE (MS-SMB2 2.2.13, 2.2.14, 3.3.5.9): opens or creates a file, directory or pipe through the
 * tree's share handler, and registers the open. Create contexts are parsed and validated; MxAc and QFid
 * are answered, durable handles are not granted (no context is returned for them); oplocks and leases are
 * granted as leases/manager.ts decides (when enabled) and the lease context echoes the granted state.
 */
import { Smb2Cmd, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE, FILE_OVERWRITE_IF } from '../constants';
import { ok, SmbError, type Smb2CommandSpec, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import { fileIdBytes } from '../state';
import type { TreeContext } from '../shares';
import { allocationSize, endOfFile, fileAttributes, smbTimes, FILE_ATTRIBUTE_NORMAL } from '../fscc/attrs';
import { decodeUtf16, Utf16Error } from '../utf16';
import { align8, BodyWriter, DecodeError, RequestView } from '../wire';
import type { CachingGrant } from '../leases/manager';

/** STATUS_BAD_IMPERSONATION_LEVEL. */
const STATUS_BAD_IMPERSONATION_LEVEL = 0xc00000a5;
const MAX_NAME_BYTES = 32767 * 2;
const MAX_CONTEXTS_BYTES = 64 * 1024;

export interface CreateContext {
  name: string;
  data: Buffer;
}

/** 2.2.13.2: a chain of SMB2_CREATE_CONTEXT, each 8-aligned, Next = 0 on the last. */
export function decodeCreateContexts(b: Buffer): CreateContext[] {
  const out: CreateContext[] = [];
  let p = 0;
  while (p < b.length) {
    if (p + 16 > b.length) throw new DecodeError('create context header outside its buffer');
    const next = b.readUInt32LE(p);
    const nameOff = b.readUInt16LE(p + 4);
    const nameLen = b.readUInt16LE(p + 6);
    const dataOff = b.readUInt16LE(p + 10);
    const dataLen = b.readUInt32LE(p + 12);
    const end = next ? p + next : b.length;
    if (next && (next % 8 !== 0 || end > b.length)) throw new DecodeError('bad create context Next');
    if (nameLen === 0 || nameOff < 16 || p + nameOff + nameLen > end) throw new DecodeError('create context name outside its context');
    if (dataLen && (dataOff < 16 || p + dataOff + dataLen > end)) throw new DecodeError('create context data outside its context');
    out.push({ name: b.subarray(p + nameOff, p + nameOff + nameLen).toString('latin1'), data: b.subarray(p + dataOff, p + dataOff + dataLen) });
    if (out.length > 32) throw new DecodeError('too many create contexts');
    if (!next) break;
    p += next;
  }
  return out;
}

export function encodeCreateContexts(list: CreateContext[]): Buffer {
  const parts: Buffer[] = [];
  list.forEach((c, i) => {
    const name = Buffer.from(c.name, 'latin1');
    const dataOff = align8(16 + name.length);
    const size = dataOff + c.data.length;
    const padded = i < list.length - 1 ? align8(size) : size;
    const b = Buffer.alloc(padded);
    b.writeUInt32LE(i < list.length - 1 ? padded : 0, 0);
    b.writeUInt16LE(16, 4);
    b.writeUInt16LE(name.length, 6);
    b.writeUInt16LE(c.data.length ? dataOff : 0, 10);
    b.writeUInt32LE(c.data.length, 12);
    name.copy(b, 16);
    c.data.copy(b, dataOff);
    parts.push(b);
  });
  return Buffer.concat(parts);
}

export class SMB2_CREATE_Request extends RequestView {
  private nameBytes!: Buffer;
  private ctxs!: CreateContext[];

  static decode(msg: Buffer): SMB2_CREATE_Request {
    const v = new SMB2_CREATE_Request(msg);
    v.structure(57);
    const nameLen = v.u16(46);
    if (nameLen % 2) throw new DecodeError('odd NameLength');
    v.nameBytes = v.region(v.u16(44), nameLen, 56, MAX_NAME_BYTES);
    v.ctxs = decodeCreateContexts(v.region(v.u32(48), v.u32(52), 56, MAX_CONTEXTS_BYTES));
    return v;
  }
  get requestedOplockLevel(): number {
    return this.u8(3);
  }
  get impersonationLevel(): number {
    return this.u32(4);
  }
  get desiredAccess(): number {
    return this.u32(24);
  }
  get fileAttributes(): number {
    return this.u32(28);
  }
  get shareAccess(): number {
    return this.u32(32);
  }
  get createDisposition(): number {
    return this.u32(36);
  }
  get createOptions(): number {
    return this.u32(40);
  }
  get name(): string {
    try {
      return decodeUtf16(this.nameBytes);
    } catch (e) {
      if (e instanceof Utf16Error) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, e.message);
      throw e;
    }
  }
  get contexts(): CreateContext[] {
    return this.ctxs;
  }
  context(name: string): CreateContext | undefined {
    return this.ctxs.find((c) => c.name === name);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_CREATE_Request) {
  if (req.impersonationLevel > 3) throw new SmbError(STATUS_BAD_IMPERSONATION_LEVEL);
  if (req.createDisposition > FILE_OVERWRITE_IF) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'bad CreateDisposition');
  if (req.createOptions & FILE_DIRECTORY_FILE && req.createOptions & FILE_NON_DIRECTORY_FILE) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'directory and non-directory');
  const s = ctx.session!;
  if (s.opens.size >= ctx.server.maxOpensPerSession) throw new SmbError(NtStatus.STATUS_INSUFFICIENT_RESOURCES, 'too many opens');
  if (ctx.server.caching.enabled) ctx.server.caching.checkLeaseKey(ctx, req);
  const out = await ctx.tree!.share.create(ctx as TreeContext, req);
  // Oplock or lease for the new open (leases/manager.ts); a lease key naming another file fails the CREATE.
  let caching: CachingGrant = { oplockLevel: 0 };
  const fs = (ctx.tree!.share as { fs?: object }).fs;
  if (fs && ctx.server.caching.enabled) {
    try {
      caching = ctx.server.caching.grant(ctx, req, fs, out.open);
    } catch (e) {
      out.open.closed = true;
      await ctx.tree!.share.close(ctx as TreeContext, out.open).catch(() => undefined);
      throw e;
    }
    if (caching.context) out.contexts = encodeCreateContexts([...(out.contexts.length ? decodeCreateContexts(out.contexts) : []), caching.context]);
  }
  s.opens.set(out.open.volatileId, out.open);
  const fid = fileIdBytes(out.open);
  ctx.chain.fileId = fid;
  const a = out.attr;
  const w = new BodyWriter(88 + (out.contexts.length ? out.contexts.length : 1));
  w.u16(0, 89).u8(2, caching.oplockLevel).u8(3, 0).u32(4, out.action);
  if (a) {
    const [c, la, lw, ch] = smbTimes(a);
    w.u64(8, c).u64(16, la).u64(24, lw).u64(32, ch).u64(40, allocationSize(a)).u64(48, endOfFile(a)).u32(56, fileAttributes(a));
  } else w.u32(56, FILE_ATTRIBUTE_NORMAL);
  w.put(64, fid);
  if (out.contexts.length) w.u32(80, 64 + 88).u32(84, out.contexts.length).put(88, out.contexts);
  ctx.log.debug({ path: out.open.path, action: out.action, kind: out.open.kind }, 'smb: create');
  return ok(w.buf);
}

export const CREATE: Smb2CommandSpec<SMB2_CREATE_Request> = {
  command: Smb2Cmd.CREATE,
  name: 'CREATE',
  scope: 'tree',
  decode: (msg) => SMB2_CREATE_Request.decode(msg),
  handle,
};
