import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileSystem } from '../../../cluster/vfs/types';
import type { ClientRecord } from '../../../protocols/nfs4/state/clients';
import { MAX_IDLE_OWNERS, OwnerTable } from '../../../protocols/nfs4/state/owners';
import { StateTable } from '../../../protocols/nfs4/state/stateids';

const client = { clientid: 7n } as ClientRecord;
const fs = {} as FileSystem;
const name = (i: number): Buffer => Buffer.from(`owner-${i}`);

/** An OwnerTable wired to a StateTable the way Nfs4Server wires them, with a small idle bound. */
function tables(maxIdle: number): { owners: OwnerTable; states: StateTable } {
  const owners = new OwnerTable(maxIdle);
  const states = new StateTable(1, (o) => owners.noteIdle(o));
  return { owners, states };
}

describe('NFSv4 owners without state are bounded', () => {
  it('a client that uses a new open-owner for every open (libnfs) leaves at most the bound behind', () => {
    const { owners, states } = tables(3);
    for (let i = 0; i < 50; i++) {
      const o = owners.getOrCreate('open', client, name(i), 0);
      o.seqid = 1;
      const rec = states.add(o, { fileKey: `f${i}`, fileId: BigInt(i), fh: Buffer.from([i]), fs }, 3, 0, undefined);
      states.remove(rec, true);
    }
    assert.equal(owners.idleCount, 3);
    assert.equal(owners.size, 3);
    // the most recent ones are the ones kept, with their sequence
    assert.equal(owners.get('open', client, name(49))?.seqid, 1);
    assert.equal(owners.get('open', client, name(0)), undefined);
    assert.ok(MAX_IDLE_OWNERS >= 1024, 'the default keeps a useful window for replays');
  });

  it('an owner that holds state is never forgotten, and one whose OPEN failed (never took state) is', () => {
    const { owners, states } = tables(2);
    const busy = owners.getOrCreate('open', client, name(1000), 1);
    states.add(busy, { fileKey: 'busy', fileId: 1n, fh: Buffer.from([1]), fs }, 1, 0, undefined);
    for (let i = 0; i < 10; i++) owners.getOrCreate('open', client, name(i), 1); // OPENs that failed
    assert.equal(owners.get('open', client, name(1000)), busy);
    assert.equal(owners.get('open', client, name(0)), undefined);
    assert.ok(owners.get('open', client, name(9)));
    assert.equal(owners.size, 3);
  });

  it('a lock-owner is idle once its last lock stateid goes, and is kept while it has one', () => {
    const { owners, states } = tables(1);
    const oo = owners.getOrCreate('open', client, name(1), 1);
    const open = states.add(oo, { fileKey: 'f', fileId: 1n, fh: Buffer.from([1]), fs }, 3, 0, undefined);
    const lo = owners.getOrCreate('lock', client, name(2), 1);
    states.addLock(lo, open);
    for (let i = 10; i < 20; i++) owners.getOrCreate('lock', client, name(i), 1);
    assert.equal(owners.get('lock', client, name(2)), lo, 'holds a lock stateid');
    states.remove(open); // its lock stateids go with it
    assert.equal(lo.states, 0);
    owners.getOrCreate('lock', client, name(30), 1);
    assert.equal(owners.get('lock', client, name(2)), undefined);
  });

  it('an owner used again after going idle is moved to the young end', () => {
    const { owners } = tables(2);
    const a = owners.getOrCreate('open', client, name(1), 1);
    owners.getOrCreate('open', client, name(2), 1);
    owners.getOrCreate('open', client, name(1), 1); // a again: youngest now
    owners.getOrCreate('open', client, name(3), 1); // evicts 2, not a
    assert.equal(owners.get('open', client, name(1)), a);
    assert.equal(owners.get('open', client, name(2)), undefined);
    owners.dropClient(client);
    assert.equal(owners.size, 0);
    assert.equal(owners.idleCount, 0);
  });
});
