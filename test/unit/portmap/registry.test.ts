import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PortmapRegistry } from '../../../protocols/portmap/registry';
import type { PortRegistration } from '../../../protocols/rpc/types';

const reg = (prog: number, vers: number, netid: string, port: number): PortRegistration => ({
  prog,
  vers,
  prot: netid.startsWith('tcp') ? 6 : 17,
  port,
  netid,
  uaddr: `127.0.0.1.${port >> 8}.${port & 0xff}`,
  owner: 'superuser',
});

describe('PortmapRegistry', () => {
  it('prefers the exact version and falls back to another unless asked not to', () => {
    const r = new PortmapRegistry();
    r.add([reg(100005, 1, 'tcp', 600), reg(100005, 3, 'tcp', 603)]);
    assert.equal(r.lookup(100005, 3, 'tcp', false)?.port, 603);
    assert.equal(r.lookup(100005, 2, 'tcp', false)?.port, 600);
    assert.equal(r.lookup(100005, 2, 'tcp', true), undefined);
    assert.equal(r.lookup(100005, 3, 'udp', false), undefined);
  });

  it('replaces an identical local entry instead of duplicating it', () => {
    const r = new PortmapRegistry();
    r.add(reg(100003, 3, 'tcp', 2049));
    r.add(reg(100003, 3, 'tcp', 2049));
    assert.equal(r.list().length, 1);
    assert.equal(r.remove((x) => x.prog === 100003), 1);
    assert.equal(r.list().length, 0);
  });

  it('keeps remote SET/UNSET away from local entries and refuses duplicates', () => {
    const r = new PortmapRegistry();
    r.add(reg(100003, 3, 'tcp', 2049));
    assert.equal(r.set(reg(100003, 3, 'tcp', 9999)), false);
    assert.equal(r.set(reg(100003, 3, 'udp', 9999)), true);
    assert.equal(r.set(reg(100003, 3, 'udp', 9998)), false);
    assert.equal(r.set({ ...reg(100021, 1, 'udp', 1), uaddr: 'garbage' }), false);
    assert.equal(r.unset(100003, 3), true);
    assert.deepEqual(r.list().map((x) => x.netid), ['tcp']);
    assert.equal(r.unset(100003, 3, 'tcp'), false);
  });
});
