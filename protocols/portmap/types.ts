/**
 * Port mapper (RFC 1833): program 100000, version 2 ("portmap") and versions 3 and 4 ("rpcbind").
 * Wire types keep the spec names; each XDR fragment sits above its type.
 */
import { XdrError } from '../xdr/errors';
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';

export const PMAP_PORT = 111;
export const PMAPPROG = 100000;
export const PMAPVERS = 2;
export const RPCBVERS = 3;
export const RPCBVERS4 = 4;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

// program PMAP_PROG version PMAP_VERS
export const PMAPPROC_NULL = 0;
export const PMAPPROC_SET = 1;
export const PMAPPROC_UNSET = 2;
export const PMAPPROC_GETPORT = 3;
export const PMAPPROC_DUMP = 4;
export const PMAPPROC_CALLIT = 5;

// program RPCBPROG versions RPCBVERS and RPCBVERS4
export const RPCBPROC_NULL = 0;
export const RPCBPROC_SET = 1;
export const RPCBPROC_UNSET = 2;
export const RPCBPROC_GETADDR = 3;
export const RPCBPROC_DUMP = 4;
/** v3 name; v4 calls procedure 5 RPCBPROC_BCAST. */
export const RPCBPROC_CALLIT = 5;
export const RPCBPROC_BCAST = 5;
export const RPCBPROC_GETTIME = 6;
export const RPCBPROC_UADDR2TADDR = 7;
export const RPCBPROC_TADDR2UADDR = 8;
export const RPCBPROC_GETVERSADDR = 9;
export const RPCBPROC_INDIRECT = 10;
export const RPCBPROC_GETADDRLIST = 11;
export const RPCBPROC_GETSTAT = 12;

// netconfig semantics (rpcb_entry.r_nc_semantics)
export const NC_TPI_CLTS = 1;
export const NC_TPI_COTS = 2;
export const NC_TPI_COTS_ORD = 3;
export const NC_TPI_RAW = 4;

/** The spec leaves these strings unbounded; every variable-length field here has a maximum. */
export const RPCB_MAXNETID = 64;
export const RPCB_MAXADDR = 256;
export const RPCB_MAXOWNER = 256;

/*
 * struct mapping {            (called "pmap" in the TI-RPC headers)
 *   unsigned int prog;
 *   unsigned int vers;
 *   unsigned int prot;
 *   unsigned int port;
 * };
 */
export interface pmap {
  prog: number;
  vers: number;
  prot: number;
  port: number;
}

export function decodePmap(r: XdrReader): pmap {
  return { prog: r.uint32(), vers: r.uint32(), prot: r.uint32(), port: r.uint32() };
}

export function encodePmap(w: XdrWriter, m: pmap): void {
  w.uint32(m.prog).uint32(m.vers).uint32(m.prot).uint32(m.port);
}

/*
 * struct pmaplist { mapping map; pmaplist *next; };      typedef pmaplist *pmaplist_ptr;
 * Encoded as the XDR optional-data chain: TRUE entry TRUE entry … FALSE.
 */
export function encodePmaplist(w: XdrWriter, list: readonly pmap[]): void {
  for (const m of list) {
    w.bool(true);
    encodePmap(w, m);
  }
  w.bool(false);
}

export function decodePmaplist(r: XdrReader, max = 4096): pmap[] {
  const out: pmap[] = [];
  while (r.bool()) {
    if (out.length >= max) throw new XdrError(`pmaplist longer than ${max}`);
    out.push(decodePmap(r));
  }
  return out;
}

/*
 * struct rpcb {
 *   rpcprog_t r_prog;      (unsigned int)
 *   rpcvers_t r_vers;      (unsigned int)
 *   string r_netid<>;
 *   string r_addr<>;       universal address
 *   string r_owner<>;
 * };
 */
export interface rpcb {
  r_prog: number;
  r_vers: number;
  r_netid: string;
  r_addr: string;
  r_owner: string;
}

export function decodeRpcb(r: XdrReader): rpcb {
  return {
    r_prog: r.uint32(),
    r_vers: r.uint32(),
    r_netid: r.string(RPCB_MAXNETID).toString('utf8'),
    r_addr: r.string(RPCB_MAXADDR).toString('utf8'),
    r_owner: r.string(RPCB_MAXOWNER).toString('utf8'),
  };
}

export function encodeRpcb(w: XdrWriter, b: rpcb): void {
  w.uint32(b.r_prog).uint32(b.r_vers).string(b.r_netid).string(b.r_addr).string(b.r_owner);
}

/* struct rp__list { rpcb rpcb_map; struct rp__list *rpcb_next; };   typedef rp__list *rpcblist_ptr; */
export function encodeRpcblist(w: XdrWriter, list: readonly rpcb[]): void {
  for (const b of list) {
    w.bool(true);
    encodeRpcb(w, b);
  }
  w.bool(false);
}

export function decodeRpcblist(r: XdrReader, max = 4096): rpcb[] {
  const out: rpcb[] = [];
  while (r.bool()) {
    if (out.length >= max) throw new XdrError(`rpcblist longer than ${max}`);
    out.push(decodeRpcb(r));
  }
  return out;
}

/*
 * struct rpcb_entry {
 *   string r_maddr<>;
 *   string r_nc_netid<>;
 *   unsigned int r_nc_semantics;
 *   string r_nc_protofmly<>;
 *   string r_nc_proto<>;
 * };
 * struct rpcb_entry_list { rpcb_entry rpcb_entry_map; struct rpcb_entry_list *rpcb_entry_next; };
 */
export interface rpcb_entry {
  r_maddr: string;
  r_nc_netid: string;
  r_nc_semantics: number;
  r_nc_protofmly: string;
  r_nc_proto: string;
}

export function encodeRpcbEntry(w: XdrWriter, e: rpcb_entry): void {
  w.string(e.r_maddr).string(e.r_nc_netid).uint32(e.r_nc_semantics).string(e.r_nc_protofmly).string(e.r_nc_proto);
}

export function decodeRpcbEntry(r: XdrReader): rpcb_entry {
  return {
    r_maddr: r.string(RPCB_MAXADDR).toString('utf8'),
    r_nc_netid: r.string(RPCB_MAXNETID).toString('utf8'),
    r_nc_semantics: r.uint32(),
    r_nc_protofmly: r.string(RPCB_MAXNETID).toString('utf8'),
    r_nc_proto: r.string(RPCB_MAXNETID).toString('utf8'),
  };
}

export function encodeRpcbEntryList(w: XdrWriter, list: readonly rpcb_entry[]): void {
  for (const e of list) {
    w.bool(true);
    encodeRpcbEntry(w, e);
  }
  w.bool(false);
}

export function decodeRpcbEntryList(r: XdrReader, max = 4096): rpcb_entry[] {
  const out: rpcb_entry[] = [];
  while (r.bool()) {
    if (out.length >= max) throw new XdrError(`rpcb_entry_list longer than ${max}`);
    out.push(decodeRpcbEntry(r));
  }
  return out;
}
