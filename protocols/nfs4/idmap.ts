/**
 * NFSv4 owner and owner_group strings (RFC 7530 §5.9, RFC 8881 §5.9) ⇄ uid/gid, as Linux knfsd and
 * NFS-Ganesha do it: "name@domain" with one configured id-mapping domain (knfsd's idmapd.conf Domain,
 * Ganesha's IdmapConf), names from cluster/ident/id-names.ts, and decimal strings as the fallback.
 *
 * Sending (GETATTR, READDIR):
 *   - AUTH_SYS (and AUTH_NONE) callers get decimal ids ("1000") unless `numericForAuthSys` is false. This
 *     is knfsd's nfs4_disable_idmapping=Y default, and it is the default here because a Linux client
 *     without idmapd/nfsidmap (the kernel test's guest, many containers and appliances) maps any
 *     "name@domain" it cannot resolve to nobody, while it always parses a decimal string. AUTH_SYS
 *     credentials are numeric anyway, so numbers on the wire agree with what the client sends.
 *   - otherwise (numericForAuthSys false, or a future RPCSEC_GSS caller): "name@domain" when the id has a
 *     name and a domain is configured, else the decimal id.
 * Receiving (SETATTR, CREATE/OPEN attributes), whatever the flavor:
 *   - a decimal string (no "@") is the id itself: clients without idmapd send those;
 *   - "name@domain": the domain must be ours (case-insensitive; with no domain configured any domain is
 *     taken), then the name is looked up; "1000@domain" is also taken as 1000;
 *   - a bare name is looked up too;
 *   - a name nobody knows, or a foreign domain: NFS4ERR_BADOWNER. "root" and "nobody" are always known.
 */
import type { IdNames } from '../../cluster/ident/id-names';
import { AUTH_NONE, AUTH_SYS } from '../rpc/types';
import { Nfs4Error } from './errors';
import { nfsstat4 } from './types';

/** uid/gid → the string a reply carries. */
export interface OwnerEncoder {
  user(uid: number): string;
  group(gid: number): string;
}

/** owner/owner_group string → uid/gid (throws Nfs4Error: BADOWNER, INVAL for an empty string). */
export interface OwnerDecoder {
  uidOf(s: string): number;
  gidOf(s: string): number;
}

export interface Nfs4IdmapOptions {
  /** The NFSv4 id-mapping domain (e.g. "example.com"); none: owners are always sent as numbers. */
  domain?: string;
  /** Send numbers to AUTH_SYS/AUTH_NONE callers even when names could be sent (default true, as knfsd). */
  numericForAuthSys?: boolean;
  /** Name tables; none: only the numeric form and the well-known names. */
  names?: IdNames;
}

export const NUMERIC_OWNERS: OwnerEncoder = {
  user: (uid) => String(uid >>> 0),
  group: (gid) => String(gid >>> 0),
};

/** Names every system has, used when the name tables do not know them (a server without /etc files). */
const WELL_KNOWN_USERS: ReadonlyMap<string, number> = new Map([
  ['root', 0],
  ['nobody', 65534],
]);
const WELL_KNOWN_GROUPS: ReadonlyMap<string, number> = new Map([
  ['root', 0],
  ['nobody', 65534],
  ['nogroup', 65534],
]);

const DECIMAL = /^[0-9]{1,10}$/;

function decimalId(s: string): number | undefined {
  if (!DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : undefined;
}

export class Nfs4Idmap implements OwnerDecoder {
  /** Lower-cased domain, or undefined. */
  readonly domain: string | undefined;
  readonly numericForAuthSys: boolean;
  private readonly named: OwnerEncoder;

  constructor(private readonly opts: Nfs4IdmapOptions = {}) {
    const d = opts.domain?.trim();
    this.domain = d ? d.toLowerCase() : undefined;
    this.numericForAuthSys = opts.numericForAuthSys ?? true;
    const domain = d;
    const names = opts.names;
    this.named =
      domain && names
        ? {
            user: (uid) => {
              const n = names.userName(uid >>> 0);
              return n !== undefined ? `${n}@${domain}` : String(uid >>> 0);
            },
            group: (gid) => {
              const n = names.groupName(gid >>> 0);
              return n !== undefined ? `${n}@${domain}` : String(gid >>> 0);
            },
          }
        : NUMERIC_OWNERS;
  }

  /** How owners are sent to a caller of RPC auth `flavor`. */
  encoderFor(flavor: number): OwnerEncoder {
    if (this.numericForAuthSys && (flavor === AUTH_SYS || flavor === AUTH_NONE)) return NUMERIC_OWNERS;
    return this.named;
  }

  uidOf(s: string): number {
    return this.decode(s, 'owner', (n) => this.opts.names?.uid(n) ?? WELL_KNOWN_USERS.get(n));
  }

  gidOf(s: string): number {
    return this.decode(s, 'owner_group', (n) => this.opts.names?.gid(n) ?? WELL_KNOWN_GROUPS.get(n));
  }

  private decode(s: string, what: string, lookup: (name: string) => number | undefined): number {
    if (s.length === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `empty ${what}`);
    const at = s.lastIndexOf('@');
    let name = s;
    if (at >= 0) {
      name = s.slice(0, at);
      const domain = s.slice(at + 1).toLowerCase();
      if (this.domain !== undefined && domain !== this.domain) {
        throw new Nfs4Error(nfsstat4.NFS4ERR_BADOWNER, `${what} ${JSON.stringify(s)}: domain is not ${this.domain}`);
      }
    }
    const n = decimalId(name);
    if (n !== undefined) return n;
    const id = name.length > 0 ? lookup(name) : undefined;
    if (id !== undefined) return id;
    throw new Nfs4Error(nfsstat4.NFS4ERR_BADOWNER, `${what} ${JSON.stringify(s)}: unknown name`);
  }
}

/** No domain, no name tables: numbers, "N@anything", root and nobody (tests, and the default). */
export const DEFAULT_IDMAP = new Nfs4Idmap();
