/**
 * MOUNTPROC3_MNT (RFC 1813 Appendix I): dirpath → root file handle + auth flavors.
 *
 * "/data", "data", "/data/" and "//data" all name the export "data". The longest leading run of path
 * components that names an export wins; remaining components are looked up through the core as the caller
 * (so '..' stops at the export root and permissions apply), and must end at a directory (subdirectory mount).
 * Client rules refused, or a `secure` export from a source port ≥ 1024 → MNT3ERR_ACCES (as Linux mountd).
 * Flavors: AUTH_SYS first (mount.nfs picks the first one it supports), then AUTH_NONE.
 */
import { isCoreError } from '../../../cluster/vfs/errors';
import { exportAccess, normaliseAddress, type ExportConfig } from '../../../cluster/vfs/exports';
import { FileType } from '../../../cluster/vfs/types';
import { credOf } from '../../nfs3/program';
import { errInfo } from '../../rpc/log';
import { AUTH_NONE, AUTH_SYS } from '../../rpc/types';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { decodeExportPath, type MountContext, type MountProcedure } from '../procedure';
import { mount3StatusOf } from '../status';
import { FHSIZE3, MOUNTPROC3, MOUNTSTAT3_VALUES, mountstat3, type dirpath, type mountres3 } from '../types';
import { decodeDirpath, encodeDirpath } from '../xdr';

export const MNT_AUTH_FLAVORS: readonly number[] = [AUTH_SYS, AUTH_NONE];
/** Source ports below this are "reserved". */
const IPPORT_RESERVED = 1024;
const MAX_FLAVORS = 32;

export function encodeMNT3args(w: XdrWriter, p: dirpath): void {
  encodeDirpath(w, p);
}

export function encodeMountres3(w: XdrWriter, res: mountres3): void {
  w.uint32(res.fhs_status);
  if (res.fhs_status === mountstat3.MNT3_OK) {
    w.opaque(res.mountinfo.fhandle);
    w.uint32(res.mountinfo.auth_flavors.length);
    for (const f of res.mountinfo.auth_flavors) w.int32(f);
  }
}

export function decodeMountres3(r: XdrReader): mountres3 {
  const fhs_status = r.enumOf<mountstat3>(MOUNTSTAT3_VALUES, 'mountstat3');
  if (fhs_status !== mountstat3.MNT3_OK) return { fhs_status };
  const fhandle = Buffer.from(r.opaque(FHSIZE3));
  const auth_flavors = r.array(MAX_FLAVORS, (r) => r.int32());
  return { fhs_status, mountinfo: { fhandle, auth_flavors } };
}

async function mount(ctx: MountContext, raw: dirpath): Promise<mountres3> {
  const { rpc, exports: registry } = ctx;
  const parts = decodeExportPath(raw);
  let n = parts.length;
  let exp: ExportConfig | undefined;
  for (; n > 0; n--) {
    exp = registry.byName(parts.slice(0, n).join('/'));
    if (exp) break;
  }
  if (!exp) return { fhs_status: mountstat3.MNT3ERR_NOENT };
  if (!exportAccess(exp, rpc.remote.address).allowed) return { fhs_status: mountstat3.MNT3ERR_ACCES };
  if (exp.secure && rpc.remote.port >= IPPORT_RESERVED) return { fhs_status: mountstat3.MNT3ERR_ACCES };

  const fs = registry.fsFor(exp.id);
  const cred = credOf(rpc.auth, exp);
  let fh = await fs.rootHandle(exp.id);
  if (n < parts.length) {
    let type = FileType.DIR;
    for (const comp of parts.slice(n)) {
      const r = await fs.lookup(cred, fh, Buffer.from(comp, 'utf8'));
      fh = r.handle;
      type = r.attr.type;
    }
    if (type !== FileType.DIR) return { fhs_status: mountstat3.MNT3ERR_NOTDIR };
  }
  ctx.mounts.add(normaliseAddress(rpc.remote.address), '/' + parts.join('/'));
  return { fhs_status: mountstat3.MNT3_OK, mountinfo: { fhandle: fh, auth_flavors: [...MNT_AUTH_FLAVORS] } };
}

export const MNT: MountProcedure<dirpath, mountres3> = {
  proc: MOUNTPROC3.MNT,
  name: 'MNT',
  decodeArgs: decodeDirpath,
  async handle(ctx, p) {
    try {
      const res = await mount(ctx, p);
      if (res.fhs_status !== mountstat3.MNT3_OK) {
        ctx.log.info(
          { conn: ctx.rpc.connId, xid: ctx.rpc.xid, client: ctx.rpc.remote.address, path: p.toString('utf8'), status: mountstat3[res.fhs_status] },
          'MOUNT refused',
        );
      }
      return res;
    } catch (e) {
      if (isCoreError(e)) return { fhs_status: mount3StatusOf(e.errc) };
      ctx.log.error({ conn: ctx.rpc.connId, xid: ctx.rpc.xid, proc: 'MOUNT3_MNT', ...errInfo(e) }, 'MOUNT failed');
      throw e;
    }
  },
  encodeRes: encodeMountres3,
  encodeArgs: encodeMNT3args,
  decodeRes: decodeMountres3,
};
