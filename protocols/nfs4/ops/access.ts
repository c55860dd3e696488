/**
 * OP_ACCESS (RFC 8881 §18.1): which of the asked ACCESS4_* rights the caller has. `supported` is the asked
 * bits this server can judge (the six RFC 7530 bits); the pseudo root grants READ and LOOKUP only.
 */
import { ACCESS4_ALL, ACCESS4_DELETE, ACCESS4_EXECUTE, ACCESS4_LOOKUP, ACCESS4_READ, nfs_opnum4 } from '../types';
import { fixedResult, type Nfs4Op } from '../op';
import { FileType } from '../../../cluster/vfs/types';

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
    const supported = a.access & ACCESS4_ALL;
    if (fh.kind === 'pseudo') return { supported, access: supported & (ACCESS4_READ | ACCESS4_LOOKUP) };
    const r = await fh.fs.access(fh.cred, fh.handle, a.access & ACCESS4_ALL);
    // LOOKUP and DELETE mean something for directories only, EXECUTE for everything else (RFC 7530 §16.1.4).
    const meaningless = r.attr.type === FileType.DIR ? ACCESS4_EXECUTE : ACCESS4_LOOKUP | ACCESS4_DELETE;
    const mine = supported & ~meaningless;
    return { supported: mine, access: r.granted & mine };
  },
  ...fixedResult(8),
  encodeOk: (w, r) => {
    w.uint32(r.supported);
    w.uint32(r.access);
  },
  decodeOk: (r) => ({ supported: r.uint32(), access: r.uint32() }),
};
