/**
 * OP_ACCESS (RFC 8881 §18.1): which of the asked ACCESS4_* rights the caller has. `supported` is the asked
 * bits this server can judge (the six RFC 7530 bits, and in NFSv4.2 RFC 8276's XAREAD, XAWRITE and XALIST);
 * the pseudo root grants READ and LOOKUP only and has no extended attributes.
 *
 * The extended-attribute bits follow the core's rule (FileSystem.setXattr): reading and listing them is
 * READ, changing them is MODIFY, on regular files and directories only (as knfsd maps them to
 * NFSD_MAY_READ / NFSD_MAY_WRITE). The Linux client asks for them before every xattr call.
 */
import {
  ACCESS4_ALL,
  ACCESS4_DELETE,
  ACCESS4_EXECUTE,
  ACCESS4_LOOKUP,
  ACCESS4_MODIFY,
  ACCESS4_READ,
  ACCESS4_XALIST,
  ACCESS4_XAREAD,
  ACCESS4_XAWRITE,
  nfs_opnum4,
} from '../types';
import { fixedResult, type Nfs4Op } from '../op';
import { FileType } from '../../../cluster/vfs/types';

const XA_ALL = ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;

/** struct ACCESS4args { uint32_t access; }; */
export interface ACCESS4args {
  access: number;
}

/** struct ACCESS4resok { uint32_t supported; uint32_t access; }; */
export interface ACCESS4resok {
  supported: number;
  access: number;
}

export const ACCESS: Nfs4Op<ACCESS4args, ACCESS4resok> = {
  opnum: nfs_opnum4.OP_ACCESS,
  name: 'ACCESS',
  decodeArgs: (r) => ({ access: r.uint32() }),
  encodeArgs: (w, a) => w.uint32(a.access),
  async handle(c, a) {
    const fh = c.curFh();
    const xa = c.minor >= 2 ? a.access & XA_ALL : 0;
    const supported = a.access & ACCESS4_ALL;
    if (fh.kind === 'pseudo') return { supported, access: supported & (ACCESS4_READ | ACCESS4_LOOKUP) };
    // The xattr bits are judged from READ and MODIFY: ask the core for those too.
    const ask = supported | (xa & (ACCESS4_XAREAD | ACCESS4_XALIST) ? ACCESS4_READ : 0) | (xa & ACCESS4_XAWRITE ? ACCESS4_MODIFY : 0);
    const r = await fh.fs.access(fh.cred, fh.handle, ask);
    // LOOKUP and DELETE mean something for directories only, EXECUTE for everything else (RFC 7530 §16.1.4).
    const meaningless = r.attr.type === FileType.DIR ? ACCESS4_EXECUTE : ACCESS4_LOOKUP | ACCESS4_DELETE;
    const mine = supported & ~meaningless;
    let granted = r.granted & mine;
    if (xa && (r.attr.type === FileType.REG || r.attr.type === FileType.DIR)) {
      if (r.granted & ACCESS4_READ) granted |= xa & (ACCESS4_XAREAD | ACCESS4_XALIST);
      if (r.granted & ACCESS4_MODIFY) granted |= xa & ACCESS4_XAWRITE;
    }
    return { supported: mine | xa, access: granted };
  },
  ...fixedResult(8),
  encodeOk: (w, r) => {
    w.uint32(r.supported);
    w.uint32(r.access);
  },
  decodeOk: (r) => ({ supported: r.uint32(), access: r.uint32() }),
};
