import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ntHash } from '../../../protocols/smb2/crypto/md4';
import { rc4 } from '../../../protocols/smb2/crypto/rc4';
import {
  decodeAvPairs,
  encodeAvPairs,
  MsvAv,
  NtlmServer,
  ntowfv2,
  verifyNtlmv2,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
} from '../../../protocols/smb2/session/ntlmssp';
import { GssAcceptor, negTokenInit2, OID_NTLMSSP, parseSpnego, readTlv, tlv, NegState } from '../../../protocols/smb2/session/spnego';
import type { SmbAccount, SmbUserDb } from '../../../protocols/smb2/users';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-NLMP 4.2.1 common values and 4.2.4 NTLMv2 results.
const SERVER_CHALLENGE = hex('0123456789abcdef');
const NTOWFV2 = '0c868a403bfd7a93a3001ef22ef02e3f';
const SESSION_BASE_KEY = '8de40ccadbc14a82f15cb0ad0de95ca3';
const NT_RESPONSE = hex(`
  68cd0ab851e51c96aabc927bebef6a1c 01010000000000000000000000000000
  aaaaaaaaaaaaaaaa 00000000 02000c00 44006f006d00610069006e00 01000c00 53006500720076006500720000000000 00000000`);
const ENCRYPTED_SESSION_KEY = hex('c5dad2544fc9799094ce1ce90bc9d03e');
const RANDOM_SESSION_KEY = Buffer.alloc(16, 0x55);

function db(...accounts: Array<[string, string]>): SmbUserDb {
  const m = new Map<string, SmbAccount>();
  let uid = 1000;
  for (const [name, pw] of accounts) m.set(name.toLowerCase(), { name, ntHash: ntHash(pw), uid: uid++, gid: 100, groups: [] });
  return { lookup: (n) => m.get(n.toLowerCase()) };
}

function negotiateMsg(flags: number): Buffer {
  const b = Buffer.alloc(32);
  b.write('NTLMSSP\0', 0, 'latin1');
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(flags >>> 0, 12);
  return b;
}

/** Builds an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with a MIC field; strings UTF-16LE. */
function authenticateMsg(o: { nt: Buffer; lm?: Buffer; user: string; domain: string; ws?: string; key?: Buffer; flags: number; mic?: Buffer }): Buffer {
  const fields: Buffer[] = [o.lm ?? Buffer.alloc(24), o.nt, Buffer.from(o.domain, 'utf16le'), Buffer.from(o.user, 'utf16le'), Buffer.from(o.ws ?? 'CLIENT', 'utf16le'), o.key ?? Buffer.alloc(0)];
  const head = Buffer.alloc(88);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(3, 8);
  let off = 88;
  fields.forEach((f, i) => {
    head.writeUInt16LE(f.length, 12 + i * 8);
    head.writeUInt16LE(f.length, 14 + i * 8);
    head.writeUInt32LE(off, 16 + i * 8);
    off += f.length;
  });
  head.writeUInt32LE(o.flags >>> 0, 60);
  if (o.mic) o.mic.copy(head, 72);
  return Buffer.concat([head, ...fields]);
}

const SPEC_FLAGS = 0xe28a8233; // MS-NLMP 4.2.4 challenge flags

describe('NTLMv2 (MS-NLMP 4.2.4 vectors)', () => {
  it('NTOWFv2 and the response check give the published session base key', () => {
    const key = ntowfv2(ntHash('Password'), 'User', 'Domain');
    assert.equal(key.toString('hex'), NTOWFV2);
    const r = verifyNtlmv2(key, SERVER_CHALLENGE, NT_RESPONSE);
    assert.ok(r.ok);
    assert.equal(r.sessionBaseKey!.toString('hex'), SESSION_BASE_KEY);
    assert.ok(rc4(r.sessionBaseKey!, ENCRYPTED_SESSION_KEY).equals(RANDOM_SESSION_KEY));
  });

  it('a wrong password or a flipped response bit does not verify', () => {
    assert.equal(verifyNtlmv2(ntowfv2(ntHash('Passw0rd'), 'User', 'Domain'), SERVER_CHALLENGE, NT_RESPONSE).ok, false);
    const bad = Buffer.from(NT_RESPONSE);
    bad[40]! ^= 1;
    assert.equal(verifyNtlmv2(ntowfv2(ntHash('Password'), 'User', 'Domain'), SERVER_CHALLENGE, bad).ok, false);
  });

  it('AV pairs encode as in the spec response', () => {
    const enc = encodeAvPairs([
      [MsvAv.NbDomainName, Buffer.from('Domain', 'utf16le')],
      [MsvAv.NbComputerName, Buffer.from('Server', 'utf16le')],
    ]);
    assert.ok(enc.equals(NT_RESPONSE.subarray(44, NT_RESPONSE.length - 4)));
    assert.equal(decodeAvPairs(enc).get(MsvAv.NbComputerName)!.toString('utf16le'), 'Server');
    assert.throws(() => decodeAvPairs(Buffer.from([2, 0, 50, 0, 1])));
  });

  it('the acceptor verifies the spec AUTHENTICATE and unwraps the exported key', () => {
    const s = new NtlmServer({ users: db(['User', 'Password']), domain: 'DOMAIN', computer: 'SERVER', challenge: () => SERVER_CHALLENGE });
    const ch = s.negotiate(negotiateMsg(SPEC_FLAGS));
    assert.equal(ch.readUInt32LE(8), 2);
    assert.ok(ch.subarray(24, 32).equals(SERVER_CHALLENGE));
    assert.ok(ch.readUInt32LE(20) & NTLMSSP_NEGOTIATE_KEY_EXCH);
    const ti = ch.subarray(ch.readUInt32LE(44), ch.readUInt32LE(44) + ch.readUInt16LE(40));
    assert.equal(decodeAvPairs(ti).get(MsvAv.Timestamp)!.length, 8);
    const r = s.authenticate(authenticateMsg({ nt: NT_RESPONSE, user: 'User', domain: 'Domain', key: ENCRYPTED_SESSION_KEY, flags: SPEC_FLAGS }));
    assert.ok(r.ok && !r.anonymous);
    assert.ok(r.sessionKey.equals(RANDOM_SESSION_KEY));
    assert.equal(r.account.name, 'User');
  });

  it('refuses a wrong password, an unknown user, NTLMv1 and anonymous (unless allowed)', () => {
    const mk = (allowAnonymous = false): NtlmServer => {
      const s = new NtlmServer({ users: db(['User', 'Passw0rd']), domain: 'D', computer: 'S', challenge: () => SERVER_CHALLENGE, allowAnonymous });
      s.negotiate(negotiateMsg(SPEC_FLAGS));
      return s;
    };
    assert.equal(mk().authenticate(authenticateMsg({ nt: NT_RESPONSE, user: 'User', domain: 'Domain', key: ENCRYPTED_SESSION_KEY, flags: SPEC_FLAGS })).ok, false);
    assert.equal(mk().authenticate(authenticateMsg({ nt: NT_RESPONSE, user: 'Nobody', domain: 'Domain', flags: SPEC_FLAGS })).ok, false);
    assert.equal(mk().authenticate(authenticateMsg({ nt: Buffer.alloc(24, 1), user: 'User', domain: 'Domain', flags: SPEC_FLAGS })).ok, false);
    const anon = authenticateMsg({ nt: Buffer.alloc(0), lm: Buffer.alloc(0), user: '', domain: '', flags: SPEC_FLAGS });
    assert.equal(mk().authenticate(anon).ok, false);
    const a = mk(true).authenticate(anon);
    assert.ok(a.ok && a.anonymous);
  });

  it('a client challenge with malformed AV pairs is a malformed message (NtlmError), even with a wrong password', () => {
    // Samba bug 14932 (smbtorture smb2.session.ntlmssp_bug14932): the AV pairs run past their buffer.
    const bad = Buffer.from(NT_RESPONSE.subarray(0, NT_RESPONSE.length - 8));
    bad.writeUInt16LE(0x40, 16 + 28 + 2); // first pair claims 64 bytes
    for (const password of ['Password', 'Wr0ng']) {
      const s = new NtlmServer({ users: db(['User', password]), domain: 'D', computer: 'S', challenge: () => SERVER_CHALLENGE });
      s.negotiate(negotiateMsg(SPEC_FLAGS));
      assert.throws(() => s.authenticate(authenticateMsg({ nt: bad, user: 'User', domain: 'Domain', flags: SPEC_FLAGS })), /AV pair/);
    }
    // Through SPNEGO it is answered as malformed (SESSION_SETUP: STATUS_INVALID_PARAMETER), not as a logon failure.
    const g = new GssAcceptor({ users: db(['User', 'Password']), domain: 'D', computer: 'S' });
    g.step(Buffer.concat([negotiateMsg(SPEC_FLAGS)]));
    const st = g.step(authenticateMsg({ nt: bad, user: 'User', domain: 'Domain', flags: SPEC_FLAGS }));
    assert.equal(st.status, 'fail');
    assert.equal(st.status === 'fail' && st.malformed, true);
  });

  it('rejects messages whose fields point outside the buffer', () => {
    const s = new NtlmServer({ users: db(['User', 'Password']), domain: 'D', computer: 'S' });
    s.negotiate(negotiateMsg(SPEC_FLAGS));
    const m = authenticateMsg({ nt: NT_RESPONSE, user: 'User', domain: 'Domain', flags: SPEC_FLAGS });
    m.writeUInt32LE(0xfffffff0, 24);
    assert.throws(() => s.authenticate(m));
  });
});

/** A small NTLMv2 + SPNEGO client (MS-NLMP 3.1.5, 3.4.4) to drive the acceptor through MIC paths. */
function clientExchange(o: { password: string; mic: boolean; mechListMic: boolean; corruptMechListMic?: boolean; mechFirst?: boolean }) {
  const acc = new GssAcceptor({ users: db(['alice', 'secret']), domain: 'WORKGROUP', computer: 'GW' });
  const flags = SPEC_FLAGS;
  const neg = negotiateMsg(flags);
  const mechTypes = o.mechFirst === false ? tlv(0x30, Buffer.from('06092a864886f712010202', 'hex'), OID_NTLMSSP) : tlv(0x30, OID_NTLMSSP);
  const init = tlv(0x60, Buffer.from('06062b0601050502', 'hex'), tlv(0xa0, tlv(0x30, tlv(0xa0, mechTypes), ...(o.mechFirst === false ? [] : [tlv(0xa2, tlv(0x04, neg))]))));
  let step = acc.step(init);
  assert.equal(step.status, 'continue');
  if (o.mechFirst === false) {
    step = acc.step(tlv(0xa1, tlv(0x30, tlv(0xa2, tlv(0x04, neg)))));
    assert.equal(step.status, 'continue');
  }
  const resp = parseSpnego(step.token);
  assert.equal(resp.kind, 'resp');
  const challenge = (resp as { responseToken?: Buffer }).responseToken!;
  const serverChallenge = challenge.subarray(24, 32);
  const ti = challenge.subarray(challenge.readUInt32LE(44), challenge.readUInt32LE(44) + challenge.readUInt16LE(40));
  const avs = decodeAvPairs(ti);
  const pairs: Array<[number, Buffer]> = [...avs.entries()];
  if (o.mic) {
    const f = Buffer.alloc(4);
    f.writeUInt32LE(2);
    pairs.push([MsvAv.Flags, f]);
  }
  const blob = Buffer.concat([hex('0101000000000000'), avs.get(MsvAv.Timestamp)!, Buffer.alloc(8, 0xaa), Buffer.alloc(4), encodeAvPairs(pairs), Buffer.alloc(4)]);
  const key = ntowfv2(ntHash(o.password), 'alice', 'WORKGROUP');
  const proof = createHmac('md5', key).update(serverChallenge).update(blob).digest();
  const base = createHmac('md5', key).update(proof).digest();
  const exported = Buffer.alloc(16, 0x42);
  const enc = rc4(base, exported);
  const nt = Buffer.concat([proof, blob]);
  let auth = authenticateMsg({ nt, user: 'alice', domain: 'WORKGROUP', key: enc, flags });
  if (o.mic) {
    const mic = createHmac('md5', exported).update(neg).update(challenge).update(auth).digest();
    mic.copy(auth, 72);
  }
  let mechListMic: Buffer | undefined;
  if (o.mechListMic) {
    // GSS_GetMIC with the client→server keys, sequence 0 (MS-NLMP 3.4.4.2).
    const md5 = (b: Buffer[]): Buffer => b.reduce((h, x) => h.update(x), require('node:crypto').createHash('md5')).digest();
    const signKey = md5([exported, Buffer.from('session key to client-to-server signing key magic constant\0', 'latin1')]);
    const sealKey = md5([exported, Buffer.from('session key to client-to-server sealing key magic constant\0', 'latin1')]);
    const seq = Buffer.alloc(4);
    const cks = rc4(sealKey, createHmac('md5', signKey).update(seq).update(mechTypes).digest().subarray(0, 8));
    mechListMic = Buffer.concat([hex('01000000'), cks, seq]);
    if (o.corruptMechListMic) mechListMic[6]! ^= 1;
  }
  const last = acc.step(tlv(0xa1, tlv(0x30, tlv(0xa2, tlv(0x04, auth)), ...(mechListMic ? [tlv(0xa3, tlv(0x04, mechListMic))] : []))));
  return { last, exported, mechTypes };
}

describe('SPNEGO acceptor', () => {
  it('the server NegTokenInit2 lists NTLMSSP', () => {
    const p = parseSpnego(negTokenInit2());
    assert.equal(p.kind, 'init');
    assert.ok((p as { mechs: Buffer[] }).mechs[0]!.equals(OID_NTLMSSP));
  });

  it('full exchange with NTLM MIC and mechListMIC both ways', () => {
    const { last, exported } = clientExchange({ password: 'secret', mic: true, mechListMic: true });
    assert.equal(last.status, 'done', (last as { reason?: string }).reason);
    if (last.status !== 'done') return;
    assert.ok(last.result.sessionKey.equals(exported));
    const p = parseSpnego(last.token);
    assert.equal(p.kind, 'resp');
    assert.equal((p as { state?: number }).state, NegState.ACCEPT_COMPLETED);
    assert.equal((p as { mechListMIC?: Buffer }).mechListMIC!.length, 16);
  });

  it('a corrupt mechListMIC, a wrong password, a missing required MIC all fail', () => {
    assert.equal(clientExchange({ password: 'secret', mic: true, mechListMic: true, corruptMechListMic: true }).last.status, 'fail');
    assert.equal(clientExchange({ password: 'wrong', mic: true, mechListMic: true }).last.status, 'fail');
    // NTLMSSP was not the client's first choice: the mechListMIC is mandatory.
    assert.equal(clientExchange({ password: 'secret', mic: true, mechListMic: false, mechFirst: false }).last.status, 'fail');
    assert.equal(clientExchange({ password: 'secret', mic: true, mechListMic: true, mechFirst: false }).last.status, 'done');
  });

  it('without a MIC (older clients) it still authenticates', () => {
    assert.equal(clientExchange({ password: 'secret', mic: false, mechListMic: false }).last.status, 'done');
  });

  it('garbage tokens fail cleanly', () => {
    for (const t of [Buffer.alloc(0), Buffer.from([0x60, 0x85, 1, 2]), Buffer.from([0x60, 0x03, 0x06, 0x01]), Buffer.from('NTLMSSP\0\x09\0\0\0', 'latin1'), tlv(0xa1, Buffer.alloc(0))]) {
      const s = new GssAcceptor({ users: db(), domain: 'D', computer: 'S' }).step(t);
      assert.equal(s.status, 'fail');
    }
    assert.throws(() => readTlv(Buffer.from([0x30, 0x05, 1]), 0));
  });
});
