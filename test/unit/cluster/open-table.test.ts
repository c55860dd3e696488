import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import { OpenTable, SHARE_ALL, SHARE_DELETE, SHARE_READ, SHARE_WRITE, shareConflict } from '../../../cluster/locks/open-table';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof CoreError) return e.errc;
    throw e;
  }
  return undefined;
};

describe('share modes (MS-FSA 2.1.5.1.2, reduced to read/write/delete)', () => {
  it('conflict is symmetric: what one uses the other must share', () => {
    assert.ok(!shareConflict({ access: SHARE_READ, shareAccess: SHARE_READ }, { access: SHARE_READ, shareAccess: SHARE_READ }));
    assert.ok(shareConflict({ access: SHARE_READ, shareAccess: SHARE_READ }, { access: SHARE_WRITE, shareAccess: SHARE_ALL }));
    assert.ok(shareConflict({ access: SHARE_WRITE, shareAccess: SHARE_ALL }, { access: SHARE_READ, shareAccess: SHARE_READ }));
    assert.ok(!shareConflict({ access: 0, shareAccess: 0 }, { access: SHARE_ALL, shareAccess: 0 }), 'attribute-only opens never conflict');
  });

  it('the table refuses conflicting opens with SHARING_VIOLATION and forgets closed ones', () => {
    const t = new OpenTable<string>();
    const a = t.add(1n, SHARE_READ | SHARE_WRITE, SHARE_READ, 'a');
    assert.equal(code(() => t.add(1n, SHARE_WRITE, SHARE_ALL, 'b')), Errc.SHARING_VIOLATION);
    const c = t.add(1n, SHARE_READ, SHARE_ALL, 'c');
    t.add(2n, SHARE_ALL, 0, 'other file');
    assert.equal(t.size, 3);
    assert.equal(t.remove(a), undefined);
    assert.equal(t.remove(a), undefined, 'twice is a no-op');
    assert.equal(t.size, 2);
    t.add(1n, SHARE_WRITE, SHARE_ALL, 'b now');
    assert.equal(t.opensOf(1n).length, 2);
    assert.equal(code(() => t.add(3n, 8, 0, 'x')), Errc.INVAL);
    void c;
  });

  it('delete pending comes back with the last open only', () => {
    const t = new OpenTable<string>();
    const a = t.add(7n, SHARE_DELETE, SHARE_ALL, 'a');
    const b = t.add(7n, SHARE_READ, SHARE_ALL, 'b');
    t.setDeletePending(a, { target: 'name' });
    assert.ok(t.isDeletePending(7n));
    assert.equal(t.remove(a), undefined);
    assert.deepEqual(t.remove(b), { target: 'name' });
    assert.ok(!t.isDeletePending(7n));
    assert.equal(code(() => t.setDeletePending(a, undefined)), Errc.EXPIRED);
  });

  it('is bounded', () => {
    const t = new OpenTable<string>(2);
    t.add(1n, 0, 0, 'a');
    t.add(2n, 0, 0, 'b');
    assert.equal(code(() => t.add(3n, 0, 0, 'c')), Errc.DELAY);
  });
});
