/**
 * srvsvc (MS-SRVS) over \PIPE\srvsvc: NetrShareEnum (opnum 15, "NetShareEnumAll") at levels 0 and 1,
 * NetrShareGetInfo (16) at levels 0 and 1, NetrServerGetInfo (21) at levels 100 and 101. Enough for
 * `smbclient -L` and Explorer's share view.
 */
import type { PipeEndpoint } from '../tree/ipc';
import type { ShareInfo } from '../shares';
import { NdrReader, NdrWriter, NdrError } from './ndr';
import { RpcPipe, syntax, NCA_S_OP_RNG_ERROR, PduError } from './pdu';

/** 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0. */
export const SRVSVC_SYNTAX = syntax('4b324fc8-1670-01d3-1278-5a47bf6ee188', 3);

const STYPE_DISKTREE = 0x00000000;
const STYPE_IPC = 0x00000003;
const STYPE_SPECIAL = 0x80000000;
const ERROR_INVALID_LEVEL = 124;
const NERR_NETNAMENOTFOUND = 2310;
/** NDR stub decoding failed: rpc_x_bad_stub_data. */
const RPC_X_BAD_STUB_DATA = 0x000006f7;

function stype(s: ShareInfo): number {
  return s.type === 'ipc' ? (STYPE_IPC | STYPE_SPECIAL) >>> 0 : STYPE_DISKTREE;
}

/** Deferred pointees of SHARE_INFO_0/1 entries, written after the array (NDR pointer layout). */
function shareInfoArray(w: NdrWriter, level: number, shares: ShareInfo[]): void {
  w.u32(shares.length);
  for (const s of shares) {
    w.ref();
    if (level === 1) w.u32(stype(s)).ref();
  }
  for (const s of shares) {
    w.wstring(s.name);
    if (level === 1) w.wstring(s.comment);
  }
}

export function netShareEnum(stub: Buffer, shares: ShareInfo[]): Buffer {
  const r = new NdrReader(stub);
  r.uniqueWstring(); // ServerName
  const level = r.u32();
  r.u32(); // union discriminant
  const cptr = r.u32();
  if (cptr !== 0) {
    r.u32(); // EntriesRead
    if (r.u32() !== 0) throw new NdrError('client sent share entries');
  }
  r.u32(); // PreferedMaximumLength
  const resumePtr = r.u32();
  if (resumePtr !== 0) r.u32();
  const w = new NdrWriter();
  if (level !== 0 && level !== 1) {
    w.u32(level).u32(level).u32(0).u32(0);
    if (resumePtr) w.ref().u32(0);
    else w.u32(0);
    return w.u32(ERROR_INVALID_LEVEL).done();
  }
  w.u32(level).u32(level).ref(); // InfoStruct: Level, union tag, pointer to container
  w.u32(shares.length); // EntriesRead
  if (shares.length) {
    w.ref();
    shareInfoArray(w, level, shares);
  } else w.u32(0);
  w.u32(shares.length); // TotalEntries
  if (resumePtr) w.ref().u32(0);
  else w.u32(0);
  return w.u32(0).done();
}

export function netShareGetInfo(stub: Buffer, shares: ShareInfo[]): Buffer {
  const r = new NdrReader(stub);
  r.uniqueWstring();
  const name = r.wstring();
  const level = r.u32();
  const s = shares.find((x) => x.name.toLowerCase() === name.toLowerCase());
  const w = new NdrWriter();
  if (level !== 0 && level !== 1) return w.u32(level).u32(0).u32(ERROR_INVALID_LEVEL).done();
  if (!s) return w.u32(level).u32(0).u32(NERR_NETNAMENOTFOUND).done();
  w.u32(level).ref();
  w.ref();
  if (level === 1) w.u32(stype(s)).ref();
  w.wstring(s.name);
  if (level === 1) w.wstring(s.comment);
  return w.u32(0).done();
}

export function netServerGetInfo(stub: Buffer, serverName: string): Buffer {
  const r = new NdrReader(stub);
  r.uniqueWstring();
  const level = r.u32();
  const w = new NdrWriter();
  if (level !== 100 && level !== 101) return w.u32(level).u32(0).u32(ERROR_INVALID_LEVEL).done();
  w.u32(level).ref();
  w.u32(500).ref(); // PLATFORM_ID_NT, name
  if (level === 101) w.u32(10).u32(0).u32(0x00009003).ref(); // version 10.0; SV_TYPE_WORKSTATION|SERVER|SERVER_NT... ; comment
  w.wstring(serverName);
  if (level === 101) w.wstring('');
  return w.u32(0).done();
}

export function srvsvcPipe(listShares: () => ShareInfo[], serverName: string): PipeEndpoint {
  const rpc = new RpcPipe({
    syntax: SRVSVC_SYNTAX,
    endpoint: '\\PIPE\\srvsvc',
    call(opnum, stub) {
      try {
        switch (opnum) {
          case 15:
            return netShareEnum(stub, listShares());
          case 16:
            return netShareGetInfo(stub, listShares());
          case 21:
            return netServerGetInfo(stub, serverName);
          default:
            return { fault: NCA_S_OP_RNG_ERROR };
        }
      } catch (e) {
        if (e instanceof NdrError) return { fault: RPC_X_BAD_STUB_DATA };
        throw e;
      }
    },
  });
  return {
    transact(input: Buffer): Buffer {
      try {
        return rpc.input(input);
      } catch (e) {
        if (e instanceof PduError || e instanceof NdrError) return Buffer.alloc(0);
        throw e;
      }
    },
  };
}
