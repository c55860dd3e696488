/**
 * IPC$: the named-pipe share. Pipes are served by in-process RPC endpoints (srvsvc for share listing).
 * A pipe open keeps the bytes the client wrote (a DCE/RPC PDU) until the reply is read, or exchanges
 * them in one FSCTL_PIPE_TRANSCEIVE.
 */
import { FILE_READ_DATA, FILE_WRITE_DATA, FSCTL_PIPE_TRANSCEIVE, FILE_OPENED } from '../constants';
import { SmbError, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import type { CreateOutcome, ReadOutcome, ShareHandler, TreeAccess, TreeContext } from '../shares';
import type { Session, SmbOpen } from '../state';
import type { SMB2_CREATE_Request } from '../commands/create';
import type { SMB2_IOCTL_Request } from '../commands/ioctl';
import type { SMB2_QUERY_INFO_Request } from '../commands/query-info';
import { fitInfo } from '../commands/query-info';
import { FileStandardInformation } from '../fscc/file-info';
import type { Attr } from '../../../cluster/vfs/types';
import { ROOT_CRED } from '../../../cluster/vfs/types';

/** STATUS_PIPE_EMPTY / STATUS_BUFFER_OVERFLOW are what a message-mode pipe answers. */
const STATUS_PIPE_EMPTY = 0xc00000d9;
const STATUS_INVALID_PIPE_STATE = 0xc00000ad;

/** One RPC endpoint behind a pipe name: takes a request PDU stream, returns the response bytes. */
export interface PipeEndpoint {
  /** Processes one complete request (a DCE/RPC PDU) and returns the response PDU(s). */
  transact(input: Buffer, session: Session): Buffer;
}

export type PipeFactory = () => PipeEndpoint;

interface PipeState {
  endpoint: PipeEndpoint;
  /** Response bytes not yet read. */
  out: Buffer;
}

export class IpcShare implements ShareHandler {
  readonly type = 'pipe' as const;
  readonly name = 'IPC$';
  readonly comment = 'IPC Service';

  constructor(private readonly pipes: ReadonlyMap<string, PipeFactory>) {}

  async connect(session: Session): Promise<TreeAccess> {
    return { readOnly: false, maximalAccess: 0x001f01ff, cred: session.isAnonymous ? session.cred : ROOT_CRED, encryptData: false };
  }

  async create(ctx: TreeContext, req: SMB2_CREATE_Request): Promise<CreateOutcome> {
    const name = req.name.replace(/^\\+/, '').replace(/^PIPE\\/i, '').toLowerCase();
    const f = this.pipes.get(name);
    if (!f) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, `no pipe ${name}`);
    const id = ctx.server.nextFileId();
    const state: PipeState = { endpoint: f(), out: Buffer.alloc(0) };
    const open: SmbOpen = {
      persistentId: id,
      volatileId: id,
      tree: ctx.tree,
      kind: 'pipe',
      grantedAccess: FILE_READ_DATA | FILE_WRITE_DATA | 0x00120000,
      path: name,
      writeThrough: false,
      position: 0n,
      pipe: state,
      closed: false,
    };
    return { open, action: FILE_OPENED, attr: undefined, contexts: Buffer.alloc(0) };
  }

  async close(): Promise<Attr | undefined> {
    return undefined;
  }

  private state(o: SmbOpen): PipeState {
    if (o.kind !== 'pipe' || !o.pipe) throw new SmbError(STATUS_INVALID_PIPE_STATE);
    return o.pipe as PipeState;
  }

  async write(ctx: TreeContext, o: SmbOpen, _offset: bigint, data: Buffer, _writeThrough?: boolean, ready?: (end: number) => Promise<void>): Promise<number> {
    const st = this.state(o);
    if (ready) await ready(data.length);
    st.out = Buffer.concat([st.out, st.endpoint.transact(Buffer.from(data), ctx.session)]);
    return data.length;
  }

  async read(_ctx: TreeContext, o: SmbOpen, _offset: bigint, length: number): Promise<ReadOutcome> {
    const st = this.state(o);
    if (st.out.length === 0) throw new SmbError(STATUS_PIPE_EMPTY);
    const data = st.out.subarray(0, length);
    st.out = st.out.subarray(data.length);
    return { data: [Buffer.from(data)] };
  }

  async flush(): Promise<void> {}

  async queryDirectory(): Promise<Buffer> {
    throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
  }

  async queryInfo(_ctx: TreeContext, o: SmbOpen, req: SMB2_QUERY_INFO_Request): Promise<Smb2Reply> {
    this.state(o);
    if (req.infoType === 1 && req.fileInfoClass === FileStandardInformation) {
      const b = Buffer.alloc(24);
      b.writeUInt32LE(1, 16); // one link, not delete-pending, not a directory
      return fitInfo(b, 24, req.outputBufferLength);
    }
    throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED);
  }

  async setInfo(): Promise<void> {
    throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED);
  }

  async ioctl(ctx: TreeContext, o: SmbOpen | undefined, req: SMB2_IOCTL_Request): Promise<{ status: number; output: Buffer }> {
    if (req.ctlCode !== FSCTL_PIPE_TRANSCEIVE) throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, `FSCTL 0x${req.ctlCode.toString(16)} on IPC$`);
    if (!o) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
    const st = this.state(o);
    st.out = Buffer.concat([st.out, st.endpoint.transact(Buffer.from(req.inputBuffer), ctx.session)]);
    const n = Math.min(st.out.length, req.maxOutputResponse);
    const output = Buffer.from(st.out.subarray(0, n));
    st.out = st.out.subarray(n);
    // More response than the client's buffer: it reads the rest with READ.
    return { status: st.out.length ? NtStatus.STATUS_BUFFER_OVERFLOW : 0, output };
  }
}
