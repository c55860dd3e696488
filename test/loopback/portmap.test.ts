/**
 * The port mapper (program 100000 v2/v3/v4) on 127.0.0.1, answering for a toy RpcServer, and the
 * rpcbind registration client talking to it as it would to a system rpcbind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  PMAPPROC_CALLIT,
  PMAPPROC_DUMP,
  PMAPPROC_GETPORT,
  PMAPPROC_NULL,
  PMAPPROC_SET,
  PMAPPROC_UNSET,
  PMAPPROG,
  RPCBPROC_DUMP,
  RPCBPROC_GETADDR,
  RPCBPROC_GETADDRLIST,
  RPCBPROC_GETTIME,
  RPCBPROC_GETVERSADDR,
  RPCBPROC_SET,
  RPCBPROC_UNSET,
  decodePmaplist,
  decodeRpcbEntryList,
  decodeRpcblist,
  encodePmap,
  encodeRpcb,
  type rpcb,
} from '../../protocols/portmap/types';
import { PortmapRegistry } from '../../protocols/portmap/registry';
import { portmapPrograms } from '../../protocols/portmap/table';
import { RpcClient } from '../../protocols/rpc/client';
import { RpcDispatcher } from '../../protocols/rpc/dispatcher';
import { NULL_AUTH, PROC_UNAVAIL, decodeReplyHeader, encodeCallHeader } from '../../protocols/rpc/message';
import { RpcbindRegistration } from '../../protocols/rpc/rpcbind-register';
import { RpcServer } from '../../protocols/rpc/server';
import { XdrReader } from '../../protocols/xdr/reader';
import { XdrWriter } from '../../protocols/xdr/writer';
import { TOYPROC_ECHO, TOY_PROG, newToyState, toyPrograms } from '../fixtures/rpc/toy-program';

const HOST = '127.0.0.1';
const uaddr = (host: string, port: number) => `${host}.${port >> 8}.${port & 0xff}`;
const rpcbArgs = (b: Partial<rpcb> & { r_prog: number; r_vers: number }) => (w: XdrWriter) =>
  encodeRpcb(w, { r_netid: '', r_addr: '', r_owner: '', ...b });

async function startPortmap(registry: PortmapRegistry, versions?: number[]): Promise<{ server: RpcServer; tcpPort: number; udpPort: number }> {
  const server = new RpcServer();
  for (const pv of portmapPrograms(registry)) if (!versions || versions.includes(pv.vers)) server.addProgram(pv);
  const tcpPort = await server.listenTcp(HOST, 0);
  const udpPort = await server.listenUdp(HOST, 0);
  registry.add(server.registrations());
  return { server, tcpPort, udpPort };
}

describe('portmapper', { timeout: 30_000 }, () => {
  let toy: RpcServer;
  let toyTcp: number;
  let toyUdp: number;
  let pm: { server: RpcServer; tcpPort: number; udpPort: number };
  let registry: PortmapRegistry;
  let c: RpcClient;

  before(async () => {
    toy = new RpcServer();
    for (const pv of toyPrograms(newToyState())) toy.addProgram(pv);
    toyTcp = await toy.listenTcp(HOST, 0);
    toyUdp = await toy.listenUdp(HOST, 0);
    registry = new PortmapRegistry();
    registry.add(toy.registrations());
    pm = await startPortmap(registry);
    c = await RpcClient.connect({ host: HOST, port: pm.tcpPort, timeoutMs: 5000 });
  });
  after(async () => {
    await c.close();
    await pm.server.close({ graceful: false });
    await toy.close({ graceful: false });
  });

  it('answers NULL in all three versions', async () => {
    for (const v of [2, 3, 4]) assert.equal((await c.call(PMAPPROG, v, PMAPPROC_NULL)).remaining(), 0);
  });

  it('v2 GETPORT finds TCP and UDP ports, 0 when unknown', async () => {
    const getport = async (prog: number, vers: number, prot: number) =>
      (await c.call(PMAPPROG, 2, PMAPPROC_GETPORT, (w) => encodePmap(w, { prog, vers, prot, port: 0 }))).uint32();
    assert.equal(await getport(TOY_PROG, 1, IPPROTO_TCP), toyTcp);
    assert.equal(await getport(TOY_PROG, 3, IPPROTO_UDP), toyUdp);
    assert.equal(await getport(TOY_PROG + 1, 1, IPPROTO_TCP), 0);
    assert.equal(await getport(TOY_PROG, 1, 99), 0);
    assert.equal(await getport(PMAPPROG, 2, IPPROTO_TCP), pm.tcpPort);
  });

  it('v2 GETPORT works over UDP too', async () => {
    const u = await RpcClient.connect({ transport: 'udp', host: HOST, port: pm.udpPort, retransmitMs: 500 });
    try {
      const r = await u.call(PMAPPROG, 2, PMAPPROC_GETPORT, (w) => encodePmap(w, { prog: TOY_PROG, vers: 1, prot: IPPROTO_UDP, port: 0 }));
      assert.equal(r.uint32(), toyUdp);
    } finally {
      await u.close();
    }
  });

  it('v3 and v4 GETADDR return universal addresses', async () => {
    for (const v of [3, 4]) {
      const tcp = await c.call(PMAPPROG, v, RPCBPROC_GETADDR, rpcbArgs({ r_prog: TOY_PROG, r_vers: 1, r_netid: 'tcp' }));
      assert.equal(tcp.string(256).toString(), uaddr(HOST, toyTcp), `v${v} tcp`);
      const udp = await c.call(PMAPPROG, v, RPCBPROC_GETADDR, rpcbArgs({ r_prog: TOY_PROG, r_vers: 3, r_netid: 'udp' }));
      assert.equal(udp.string(256).toString(), uaddr(HOST, toyUdp), `v${v} udp`);
      // An empty netid means the transport of the call: tcp here.
      const dflt = await c.call(PMAPPROG, v, RPCBPROC_GETADDR, rpcbArgs({ r_prog: TOY_PROG, r_vers: 1 }));
      assert.equal(dflt.string(256).toString(), uaddr(HOST, toyTcp));
      const none = await c.call(PMAPPROG, v, RPCBPROC_GETADDR, rpcbArgs({ r_prog: TOY_PROG + 1, r_vers: 1, r_netid: 'tcp' }));
      assert.equal(none.string(256).toString(), '');
    }
  });

  it('GETADDR falls back to another version; v4 GETVERSADDR does not', async () => {
    const any = await c.call(PMAPPROG, 4, RPCBPROC_GETADDR, rpcbArgs({ r_prog: TOY_PROG, r_vers: 2, r_netid: 'tcp' }));
    assert.equal(any.string(256).toString(), uaddr(HOST, toyTcp));
    const exact = await c.call(PMAPPROG, 4, RPCBPROC_GETVERSADDR, rpcbArgs({ r_prog: TOY_PROG, r_vers: 2, r_netid: 'tcp' }));
    assert.equal(exact.string(256).toString(), '');
    const exact3 = await c.call(PMAPPROG, 4, RPCBPROC_GETVERSADDR, rpcbArgs({ r_prog: TOY_PROG, r_vers: 3, r_netid: 'tcp' }));
    assert.equal(exact3.string(256).toString(), uaddr(HOST, toyTcp));
  });

  it('answers a wildcard registration with the address the caller used', async () => {
    registry.add({ prog: 0x20000100, vers: 1, prot: 6, port: 2049, netid: 'tcp', uaddr: '0.0.0.0.8.1', owner: 'superuser' });
    try {
      const r = await c.call(PMAPPROG, 3, RPCBPROC_GETADDR, rpcbArgs({ r_prog: 0x20000100, r_vers: 1, r_netid: 'tcp' }));
      assert.equal(r.string(256).toString(), '127.0.0.1.8.1');
    } finally {
      registry.remove((r) => r.prog === 0x20000100);
    }
  });

  it('v2 DUMP lists the IPv4 mappings', async () => {
    const list = decodePmaplist(await c.call(PMAPPROG, 2, PMAPPROC_DUMP));
    const key = (m: { prog: number; vers: number; prot: number; port: number }) => `${m.prog}/${m.vers}/${m.prot}/${m.port}`;
    const keys = list.map(key);
    for (const v of [1, 3]) {
      assert.ok(keys.includes(key({ prog: TOY_PROG, vers: v, prot: 6, port: toyTcp })));
      assert.ok(keys.includes(key({ prog: TOY_PROG, vers: v, prot: 17, port: toyUdp })));
    }
    for (const v of [2, 3, 4]) assert.ok(keys.includes(key({ prog: PMAPPROG, vers: v, prot: 6, port: pm.tcpPort })));
    assert.equal(new Set(keys).size, keys.length, 'no duplicates');
  });

  it('v3 and v4 DUMP list every registration with netid, address and owner', async () => {
    for (const v of [3, 4]) {
      const list = decodeRpcblist(await c.call(PMAPPROG, v, RPCBPROC_DUMP));
      assert.equal(list.length, registry.list().length);
      const toyTcp1 = list.find((b) => b.r_prog === TOY_PROG && b.r_vers === 1 && b.r_netid === 'tcp');
      assert.deepEqual(toyTcp1, { r_prog: TOY_PROG, r_vers: 1, r_netid: 'tcp', r_addr: uaddr(HOST, toyTcp), r_owner: 'superuser' });
      assert.ok(list.some((b) => b.r_prog === PMAPPROG && b.r_vers === 4 && b.r_netid === 'udp'));
    }
  });

  it('v4 GETADDRLIST lists every transport of one version', async () => {
    const list = decodeRpcbEntryList(await c.call(PMAPPROG, 4, RPCBPROC_GETADDRLIST, rpcbArgs({ r_prog: TOY_PROG, r_vers: 1 })));
    assert.deepEqual(
      list.map((e) => [e.r_nc_netid, e.r_maddr, e.r_nc_semantics, e.r_nc_protofmly, e.r_nc_proto]).sort(),
      [
        ['tcp', uaddr(HOST, toyTcp), 3, 'inet', 'tcp'],
        ['udp', uaddr(HOST, toyUdp), 1, 'inet', 'udp'],
      ],
    );
  });

  it('GETTIME returns the current time', async () => {
    for (const v of [3, 4]) {
      const t = (await c.call(PMAPPROG, v, RPCBPROC_GETTIME)).uint32();
      assert.ok(Math.abs(t - Date.now() / 1000) < 5);
    }
  });

  it('answers CALLIT with PROC_UNAVAIL', async () => {
    const r = await c.callFull(PMAPPROG, 2, PMAPPROC_CALLIT, (w) => w.uint32(TOY_PROG).uint32(1).uint32(TOYPROC_ECHO).opaque(Buffer.alloc(4)));
    assert.equal(r.header.kind === 'accepted' && r.header.accept.stat, PROC_UNAVAIL);
  });

  it('v2 SET / UNSET from loopback', async () => {
    const m = { prog: 0x20000200, vers: 1, prot: IPPROTO_TCP, port: 4000 };
    const set = async () => (await c.call(PMAPPROG, 2, PMAPPROC_SET, (w) => encodePmap(w, m))).bool();
    const getport = async () => (await c.call(PMAPPROG, 2, PMAPPROC_GETPORT, (w) => encodePmap(w, { ...m, port: 0 }))).uint32();
    assert.equal(await set(), true);
    assert.equal(await set(), false, 'an existing mapping is not replaced');
    assert.equal(await getport(), 4000);
    assert.equal((await c.call(PMAPPROG, 2, PMAPPROC_UNSET, (w) => encodePmap(w, m))).bool(), true);
    assert.equal(await getport(), 0);
  });

  it('v4 SET / UNSET from loopback, visible to v2 and v3', async () => {
    const b = { r_prog: 0x20000201, r_vers: 2, r_netid: 'udp', r_addr: '127.0.0.1.15.160', r_owner: 'x' };
    assert.equal((await c.call(PMAPPROG, 4, RPCBPROC_SET, rpcbArgs(b))).bool(), true);
    const port = (await c.call(PMAPPROG, 2, PMAPPROC_GETPORT, (w) => encodePmap(w, { prog: b.r_prog, vers: 2, prot: 17, port: 0 }))).uint32();
    assert.equal(port, 15 * 256 + 160);
    assert.equal((await c.call(PMAPPROG, 3, RPCBPROC_GETADDR, rpcbArgs({ ...b, r_addr: '' }))).string(256).toString(), b.r_addr);
    assert.equal((await c.call(PMAPPROG, 4, RPCBPROC_UNSET, rpcbArgs({ r_prog: b.r_prog, r_vers: 2 }))).bool(), true);
    assert.equal((await c.call(PMAPPROG, 4, RPCBPROC_GETADDR, rpcbArgs({ ...b, r_addr: '' }))).string(256).toString(), '');
  });

  it('remote callers cannot take over or remove the gateway’s own services', async () => {
    const set = await c.call(PMAPPROG, 4, RPCBPROC_SET, rpcbArgs({ r_prog: TOY_PROG, r_vers: 1, r_netid: 'tcp', r_addr: '127.0.0.1.0.9' }));
    assert.equal(set.bool(), false);
    const unset = await c.call(PMAPPROG, 4, RPCBPROC_UNSET, rpcbArgs({ r_prog: TOY_PROG, r_vers: 1 }));
    assert.equal(unset.bool(), false);
    assert.ok(registry.lookup(TOY_PROG, 1, 'tcp', true));
  });

  it('refuses SET and UNSET from non-loopback addresses', async () => {
    const reg = new PortmapRegistry();
    const d = new RpcDispatcher();
    for (const pv of portmapPrograms(reg)) d.addProgram(pv);
    const callFrom = async (address: string, vers: number, proc: number, args: (w: XdrWriter) => void) => {
      const w = new XdrWriter();
      encodeCallHeader(w, { xid: 1, rpcvers: 2, prog: PMAPPROG, vers, proc, cred: NULL_AUTH, verf: NULL_AUTH });
      args(w);
      const segs = await d.dispatch({
        record: w.toBuffer(),
        remote: { address, port: 1000, family: address.includes(':') ? 'IPv6' : 'IPv4' },
        local: { address: '192.0.2.1', port: 111 },
        transport: 'tcp',
        connId: 1,
        signal: new AbortController().signal,
      });
      const r = new XdrReader(Buffer.concat(segs!));
      decodeReplyHeader(r);
      return r.bool();
    };
    const m = { prog: 0x20000301, vers: 1, prot: IPPROTO_TCP, port: 5000 };
    const b = { r_prog: 0x20000300, r_vers: 1, r_netid: 'tcp', r_addr: '192.0.2.9.3.3' };
    assert.equal(await callFrom('192.0.2.50', 2, PMAPPROC_SET, (w) => encodePmap(w, m)), false);
    assert.equal(await callFrom('::ffff:10.0.0.1', 4, RPCBPROC_SET, rpcbArgs(b)), false);
    assert.equal(reg.list().length, 0);
    assert.equal(await callFrom('::ffff:127.0.0.1', 4, RPCBPROC_SET, rpcbArgs(b)), true);
    assert.equal(await callFrom('::1', 2, PMAPPROC_SET, (w) => encodePmap(w, m)), true);
    assert.equal(await callFrom('192.0.2.50', 4, RPCBPROC_UNSET, rpcbArgs(b)), false);
    assert.equal(reg.list().length, 2);
  });
});

describe('rpcbind registration', { timeout: 30_000 }, () => {
  it('registers with rpcbind v4, is visible through the port mapper, and unregisters', async () => {
    const registry = new PortmapRegistry();
    const pm = await startPortmap(registry);
    const toy = new RpcServer();
    for (const pv of toyPrograms(newToyState())) toy.addProgram(pv);
    const tcp = await toy.listenTcp(HOST, 0);
    await toy.listenUdp(HOST, 0);
    try {
      // A stale mapping from a previous run must be replaced.
      registry.set({ prog: TOY_PROG, vers: 1, prot: 6, port: 9, netid: 'tcp', uaddr: '127.0.0.1.0.9', owner: 'superuser' });
      // A leftover socket path that is not a live socket falls back to TCP.
      const stale = join(mkdtempSync(join(tmpdir(), 'rpcbind-')), 'rpcbind.sock');
      writeFileSync(stale, '');
      const reg = await RpcbindRegistration.register(toy.registrations(), { port: pm.tcpPort, socketPaths: ['/nonexistent/rpcbind.sock', stale] });
      rmSync(stale);
      assert.equal(reg.version, 4);
      assert.equal(reg.results.length, 4);
      assert.ok(reg.results.every((r) => r.ok));
      const c = await RpcClient.connect({ host: HOST, port: pm.tcpPort });
      const port = (await c.call(PMAPPROG, 2, PMAPPROC_GETPORT, (w) => encodePmap(w, { prog: TOY_PROG, vers: 1, prot: 6, port: 0 }))).uint32();
      assert.equal(port, tcp);
      await reg.unregister();
      assert.equal(registry.list().filter((r) => r.prog === TOY_PROG).length, 0);
      await c.close();
    } finally {
      await toy.close({ graceful: false });
      await pm.server.close({ graceful: false });
    }
  });

  it('falls back to portmap v2 when that is all the peer speaks', async () => {
    const registry = new PortmapRegistry();
    const pm = await startPortmap(registry, [2]);
    const toy = new RpcServer();
    for (const pv of toyPrograms(newToyState())) toy.addProgram(pv);
    const udp = await toy.listenUdp(HOST, 0);
    await toy.listenTcp(HOST, 0);
    try {
      const reg = await RpcbindRegistration.register(toy.registrations(), { port: pm.tcpPort, socketPaths: [] });
      assert.equal(reg.version, 2);
      assert.ok(reg.results.length === 4 && reg.results.every((r) => r.ok));
      const udpEntry = registry.lookup(TOY_PROG, 3, 'udp', true);
      assert.equal(udpEntry?.port, udp);
      await reg.unregister();
      assert.equal(registry.list().filter((r) => r.prog === TOY_PROG).length, 0);
    } finally {
      await toy.close({ graceful: false });
      await pm.server.close({ graceful: false });
    }
  });
});
