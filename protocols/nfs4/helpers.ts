/**
 * Small pieces several operations share: component4 name rules, change_info4 for directory changes,
 * the pseudo root's LOOKUP, and a failure-free "attributes of this filehandle".
 */
import { FileType, type DirWcc } from '../../cluster/vfs/types';
import { Nfs4Error } from './errors';
import type { Fh } from './fh';
import type { Nfs4Compound } from './op';
import { nfsstat4, type change_info4 } from './types';

/**
 * component4 rules (RFC 8881 §14.4, as Linux knfsd applies them): empty → INVAL, "." / ".." or a name with
 * '/' or NUL → BADNAME, longer than the file system allows → NAMETOOLONG.
 */
export function checkComponent(name: Buffer, maxNameBytes: number): void {
  if (name.length === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'empty name');
  if ((name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
    throw new Nfs4Error(nfsstat4.NFS4ERR_BADNAME, "'.' or '..'");
  }
  if (name.length > maxNameBytes) throw new Nfs4Error(nfsstat4.NFS4ERR_NAMETOOLONG);
  if (name.includes(0x2f) || name.includes(0)) throw new Nfs4Error(nfsstat4.NFS4ERR_BADNAME, "name contains '/' or NUL");
}

/**
 * change_info4 of a namespace operation from the core's wcc data: the directory's change attribute before
 * and after, both read in the operation's own transaction, so atomic (RFC 8881 §3.3.6) and a client whose
 * cached change attribute equals `before` may keep its cache of the directory. No separate read before
 * the operation. Without wcc data (no file system in this gateway omits it), non-atomic: clients then
 * revalidate the directory.
 */
export function changeInfo(wcc: DirWcc): change_info4 {
  const after = wcc.after?.change;
  const before = wcc.before?.change;
  if (before !== undefined && after !== undefined) return { atomic: true, before, after };
  return { atomic: false, before: 0n, after: after ?? 0n };
}

/** A directory filehandle, or NOTDIR (SYMLINK for a symlink, as RFC 8881 §18.13.4 / §18.15.4 say). */
export async function requireDir(c: Nfs4Compound, fh: Fh): Promise<void> {
  if (fh.kind === 'pseudo') return;
  const a = await fh.fs.getattr(fh.cred, fh.handle);
  if (a.type === FileType.DIR) return;
  throw new Nfs4Error(a.type === FileType.LNK ? nfsstat4.NFS4ERR_SYMLINK : nfsstat4.NFS4ERR_NOTDIR);
}

/** LOOKUP in the pseudo root: the root of a visible export, else NOENT. */
export async function lookupPseudo(c: Nfs4Compound, name: Buffer): Promise<Fh> {
  const wanted = name.toString('utf8');
  const exp = c.server.visibleExports(c.rpc).find((e) => e.name === wanted);
  if (!exp) throw new Nfs4Error(nfsstat4.NFS4ERR_NOENT, `no export ${JSON.stringify(wanted)}`);
  const root = await c.server.exportRootHandle(exp.id);
  return c.server.admit(c.rpc, root, exp.id);
}
