import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NDR_SYNTAX, PTYPE, encodePdu, PFC_FIRST_FRAG, PFC_LAST_FRAG } from '../../../protocols/smb2/dcerpc/pdu';
import { netShareEnum, srvsvcPipe, SRVSVC_SYNTAX } from '../../../protocols/smb2/dcerpc/srvsvc';
import { NdrReader, NdrWriter } from '../../../protocols/smb2/dcerpc/ndr';

const shares = [
  { name: 'data', type: 'disk' as const, comment: 'the volume' },
  { name: 'IPC$', type: 'ipc' as const, comment: 'IPC Service' },
];

function enumRequest(level: number): Buffer {
  const w = new NdrWriter();
  w.ref().wstring('\\\\127.0.0.1'); // ServerName
  w.u32(level).u32(level).ref().u32(0).u32(0); // InfoStruct with an empty container
  w.u32(0xffffffff); // PreferedMaximumLength
  w.ref().u32(0); // ResumeHandle
  return w.done();
}

describe('srvsvc NetrShareEnum (MS-SRVS 3.1.4.8)', () => {
  it('level 1 lists every share with type and remark', () => {
    const r = new NdrReader(netShareEnum(enumRequest(1), shares));
    assert.equal(r.u32(), 1);
    assert.equal(r.u32(), 1);
    assert.notEqual(r.u32(), 0);
    assert.equal(r.u32(), 2); // EntriesRead
    assert.notEqual(r.u32(), 0);
    assert.equal(r.u32(), 2); // conformance
    const types: number[] = [];
    for (let i = 0; i < 2; i++) {
      r.u32();
      types.push(r.u32());
      r.u32();
    }
    assert.deepEqual(types, [0, 0x80000003]);
    assert.deepEqual([r.wstring(), r.wstring(), r.wstring(), r.wstring()], ['data', 'the volume', 'IPC$', 'IPC Service']);
    assert.equal(r.u32(), 2); // TotalEntries
    assert.notEqual(r.u32(), 0); // ResumeHandle pointer
    assert.equal(r.u32(), 0);
    assert.equal(r.u32(), 0); // WERROR_OK
  });

  it('an unknown level answers ERROR_INVALID_LEVEL', () => {
    const out = netShareEnum(enumRequest(502), shares);
    assert.equal(out.readUInt32LE(out.length - 4), 124);
  });

  it('over the pipe: BIND gets BIND_ACK accepting NDR, a REQUEST gets a RESPONSE', () => {
    const pipe = srvsvcPipe(() => shares, 'GW');
    const ctx = Buffer.alloc(4 + 20 + 20);
    ctx.writeUInt16LE(0, 0);
    ctx[2] = 1;
    SRVSVC_SYNTAX.copy(ctx, 4);
    NDR_SYNTAX.copy(ctx, 24);
    const bindBody = Buffer.concat([Buffer.from([0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0]), ctx]);
    const ack = pipe.transact(encodePdu(PTYPE.BIND, 1, bindBody), undefined as never);
    assert.equal(ack[2], PTYPE.BIND_ACK);
    assert.equal(ack.readUInt16LE(8), ack.length);
    // The result list is the last 24 bytes: result 0 = acceptance.
    assert.equal(ack.readUInt16LE(ack.length - 24), 0);
    const stub = enumRequest(1);
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(stub.length, 0);
    hdr.writeUInt16LE(0, 4);
    hdr.writeUInt16LE(15, 6);
    const resp = pipe.transact(encodePdu(PTYPE.REQUEST, 2, Buffer.concat([hdr, stub]), PFC_FIRST_FRAG | PFC_LAST_FRAG), undefined as never);
    assert.equal(resp[2], PTYPE.RESPONSE);
    assert.equal(resp.readUInt32LE(12), 2);
    // An unknown opnum is a fault, not a crash.
    hdr.writeUInt16LE(99, 6);
    const fault = pipe.transact(encodePdu(PTYPE.REQUEST, 3, Buffer.concat([hdr, stub])), undefined as never);
    assert.equal(fault[2], PTYPE.FAULT);
    // Garbage is dropped.
    assert.equal(pipe.transact(Buffer.from('not rpc at all, just bytes'), undefined as never).length, 0);
  });
});
