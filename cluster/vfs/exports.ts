/**
 * Export (NFS) / share (SMB) policy: who may use an export and as whom. Frontends apply it before
 * the core is called (DESIGN invariant 9): the address rule decides admission, squashing rewrites
 * the credential, read-only turns every mutation into ROFS.
 */
import { BlockList, isIP } from 'node:net';
import type { Cred } from './types';

export interface ClientRule {
  /** CIDR ("10.0.0.0/8", "::1/128"), a single address, or "*". */
  match: string;
  readOnly?: boolean;
}

export interface ExportConfig {
  /** Stable small integer carried in every handle; never reuse one for another export. */
  id: number;
  /** Client-visible name: NFSv3 mounts `/<name>`, SMB shares `\\host\<name>`. */
  name: string;
  /** Path inside the volume ("/" = volume root). */
  path: string;
  readOnly: boolean;
  rootSquash: boolean;
  allSquash: boolean;
  anonUid: number;
  anonGid: number;
  /** Require a reserved (< 1024) client source port. Off by default: NATed and unprivileged clients. */
  secure: boolean;
  /** Empty = everyone. First matching rule wins. */
  clients: ClientRule[];
}

export interface ExportAccess {
  allowed: boolean;
  readOnly: boolean;
}

/** Normalises IPv4-mapped IPv6 ("::ffff:1.2.3.4") to IPv4 so one rule covers both socket families. */
export function normaliseAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1]! : addr;
}

const ruleCache = new Map<string, BlockList | null>();

function ruleList(rule: string): BlockList | null {
  let bl = ruleCache.get(rule);
  if (bl !== undefined) return bl;
  const [net, bitsStr] = rule.split('/');
  const fam = net ? isIP(net) : 0;
  bl = null;
  if (fam) {
    const type = fam === 4 ? 'ipv4' : 'ipv6';
    const bits = bitsStr === undefined ? (fam === 4 ? 32 : 128) : Number(bitsStr);
    if (Number.isInteger(bits) && bits >= 0 && bits <= (fam === 4 ? 32 : 128)) {
      bl = new BlockList();
      bl.addSubnet(net!, bits, type);
    }
  }
  ruleCache.set(rule, bl);
  return bl;
}

/** True if `addrIn` is inside `rule` (CIDR, single address or "*"). A malformed rule matches nothing. */
export function addressMatches(rule: string, addrIn: string): boolean {
  if (rule === '*') return true;
  const addr = normaliseAddress(addrIn);
  const fam = isIP(addr);
  const bl = ruleList(rule);
  if (!bl || !fam) return false;
  return bl.check(addr, fam === 4 ? 'ipv4' : 'ipv6');
}

export function exportAccess(exp: ExportConfig, clientAddr: string): ExportAccess {
  if (exp.clients.length === 0) return { allowed: true, readOnly: exp.readOnly };
  for (const r of exp.clients) {
    if (addressMatches(r.match, clientAddr)) return { allowed: true, readOnly: exp.readOnly || !!r.readOnly };
  }
  return { allowed: false, readOnly: true };
}

/** Root squash maps uid 0 (and gid 0) to the anonymous ids; all squash maps everyone. */
export function squashCred(exp: ExportConfig, cred: Cred): Cred {
  if (exp.allSquash || (exp.rootSquash && cred.uid === 0)) {
    return { uid: exp.anonUid, gid: exp.anonGid, groups: [] };
  }
  if (exp.rootSquash && cred.gid === 0) {
    return { uid: cred.uid, gid: exp.anonGid, groups: cred.groups.filter((g) => g !== 0) };
  }
  return cred;
}

export function defaultExport(name: string, id = 1): ExportConfig {
  return {
    id,
    name,
    path: '/',
    readOnly: false,
    rootSquash: false,
    allSquash: false,
    anonUid: 65534,
    anonGid: 65534,
    secure: false,
    clients: [],
  };
}
