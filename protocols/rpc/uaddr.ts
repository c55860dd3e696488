/**
 * Universal addresses and netids (RFC 5665 §5.2.3): "h1.h2.h3.h4.p1.p2" for IPv4 and
 * "<RFC 4291 text>.p1.p2" for IPv6, where p1.p2 are the port's high and low bytes.
 */
import { isIP } from 'node:net';

export type Netid = 'tcp' | 'udp' | 'tcp6' | 'udp6';

export function toUaddr(address: string, port: number): string {
  return `${address}.${(port >>> 8) & 0xff}.${port & 0xff}`;
}

/** Splits a universal address; undefined when it is not one. */
export function parseUaddr(uaddr: string): { address: string; port: number } | undefined {
  const m = /^(.*)\.(\d{1,3})\.(\d{1,3})$/.exec(uaddr);
  if (!m) return undefined;
  const hi = Number(m[2]);
  const lo = Number(m[3]);
  if (hi > 255 || lo > 255 || !isIP(m[1]!)) return undefined;
  return { address: m[1]!, port: (hi << 8) | lo };
}

export function netidFor(transport: 'tcp' | 'udp', address: string): Netid {
  const v6 = isIP(address) === 6 && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address);
  return (v6 ? `${transport}6` : transport) as Netid;
}

/** IPPROTO_* number of a netid (what portmap v2 calls `prot`). */
export function protOf(netid: string): 6 | 17 | undefined {
  if (netid === 'tcp' || netid === 'tcp6') return 6;
  if (netid === 'udp' || netid === 'udp6') return 17;
  return undefined;
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '::0' || address === '0:0:0:0:0:0:0:0';
}

export function isLoopback(address: string): boolean {
  if (address === '::1') return true;
  const v4 = address.replace(/^::ffff:/i, '');
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * A registration made on a wildcard address is answered with the address the caller reached us on
 * (what rpcbind calls merging), so the client connects to something routable. The registered
 * value is kept when that address is unknown or of the other family.
 */
export function mergeUaddr(registered: string, netid: string, localAddress: string | undefined): string {
  const parsed = parseUaddr(registered);
  if (!parsed || !isWildcard(parsed.address) || !localAddress || isWildcard(localAddress)) return registered;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(localAddress);
  const local = mapped ? mapped[1]! : localAddress;
  const wantV6 = netid.endsWith('6');
  if ((isIP(local) === 6) !== wantV6) return registered;
  return toUaddr(local, parsed.port);
}
