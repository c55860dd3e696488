import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeExportPath } from '../../../protocols/mount/procedure';
import { DUMP } from '../../../protocols/mount/procs/dump';
import { EXPORT } from '../../../protocols/mount/procs/export';
import { MNT } from '../../../protocols/mount/procs/mnt';
import { mountstat3, type mountres3 } from '../../../protocols/mount/types';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

function roundTrip<R>(encode: (w: XdrWriter, v: R) => void, decode: (r: XdrReader) => R, v: R): void {
  const w = new XdrWriter();
  encode(w, v);
  const b = w.toBuffer();
  const r = new XdrReader(b);
  assert.deepEqual(decode(r), v);
  assert.equal(r.remaining(), 0);
  for (let cut = 0; cut < b.length; cut++) assert.throws(() => decode(new XdrReader(b.subarray(0, cut))), XdrError, `cut ${cut}`);
}

describe('MOUNT codecs', () => {
  it('mountres3 OK and failure', () => {
    const ok: mountres3 = { fhs_status: mountstat3.MNT3_OK, mountinfo: { fhandle: Buffer.alloc(28, 1), auth_flavors: [1, 0] } };
    roundTrip(MNT.encodeRes, MNT.decodeRes, ok);
    const w = new XdrWriter();
    MNT.encodeRes(w, { fhs_status: mountstat3.MNT3ERR_ACCES });
    assert.deepEqual(w.toBuffer(), Buffer.from('0000000d', 'hex'));
  });

  it('mountlist and exports chains', () => {
    roundTrip(DUMP.encodeRes, DUMP.decodeRes, [
      { ml_hostname: Buffer.from('10.0.0.1'), ml_directory: Buffer.from('/data') },
      { ml_hostname: Buffer.from('::1'), ml_directory: Buffer.from('/b') },
    ]);
    roundTrip(EXPORT.encodeRes, EXPORT.decodeRes, [
      { ex_dir: Buffer.from('/data'), ex_groups: [] },
      { ex_dir: Buffer.from('/lab'), ex_groups: [Buffer.from('10.0.0.0/8'), Buffer.from('*')] },
    ]);
  });

  it('dirpath over 1024 bytes is an XdrError', () => {
    const w = new XdrWriter();
    w.opaque(Buffer.alloc(1025, 0x61));
    assert.throws(() => MNT.decodeArgs(new XdrReader(w.toBuffer())), XdrError);
  });

  it('dirpath normalisation', () => {
    assert.deepEqual(decodeExportPath(Buffer.from('//data/./sub//')), ['data', 'sub']);
    assert.deepEqual(decodeExportPath(Buffer.from('/')), []);
  });
});
