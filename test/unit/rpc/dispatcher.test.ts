import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authSysCred } from '../../../protocols/rpc/auth/sys';
import { RpcDispatcher, type CallObservation, type DispatchRequest } from '../../../protocols/rpc/dispatcher';
import { DuplicateRequestCache } from '../../../protocols/rpc/drc';
import type { Logger } from '../../../protocols/rpc/log';
import {
  AUTH_ERROR,
  AUTH_REJECTEDCRED,
  AUTH_TOOWEAK,
  GARBAGE_ARGS,
  NULL_AUTH,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  SUCCESS,
  SYSTEM_ERR,
  decodeReplyHeader,
  encodeCallHeader,
  type OpaqueAuth,
  type ReplyHeader,
} from '../../../protocols/rpc/message';
import { AUTH_NONE, AUTH_SYS, RPCSEC_GSS, type RpcProgramVersion } from '../../../protocols/rpc/types';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';
import {
  TOYPROC_BIG,
  TOYPROC_CORE_ERROR,
  TOYPROC_COUNT,
  TOYPROC_ECHO,
  TOYPROC_NULL,
  TOYPROC_THROW,
  TOYPROC_WHOAMI,
  TOY_PROG,
  newToyState,
  toyPrograms,
} from '../../fixtures/rpc/toy-program';

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, ...(msg !== undefined ? { msg } : {}) });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let nextXid = 1000;
function call(
  prog: number,
  vers: number,
  proc: number,
  args?: (w: XdrWriter) => void,
  o: { cred?: OpaqueAuth; xid?: number } = {},
): Buffer {
  const w = new XdrWriter();
  encodeCallHeader(w, { xid: o.xid ?? nextXid++, rpcvers: 2, prog, vers, proc, cred: o.cred ?? NULL_AUTH, verf: NULL_AUTH });
  args?.(w);
  return w.toBuffer();
}

function request(record: Buffer, address = '192.0.2.7'): DispatchRequest {
  return {
    record,
    remote: { address, port: 700, family: 'IPv4' },
    local: { address: '192.0.2.1', port: 2049 },
    transport: 'tcp',
    connId: 1,
    signal: new AbortController().signal,
  };
}

async function run(d: RpcDispatcher, record: Buffer, address?: string): Promise<{ h: ReplyHeader; r: XdrReader; raw: Buffer } | undefined> {
  const segs = await d.dispatch(request(record, address));
  if (!segs) return undefined;
  const raw = Buffer.concat(segs);
  const r = new XdrReader(raw);
  return { h: decodeReplyHeader(r), r, raw };
}

function acceptStat(h: ReplyHeader): number | undefined {
  return h.kind === 'accepted' ? h.accept.stat : undefined;
}

function setup(opts: { flavors?: ReadonlySet<number>; admit?: RpcProgramVersion['admit'] } = {}) {
  const lines: LogLine[] = [];
  const observed: CallObservation[] = [];
  const state = newToyState();
  state.countDelayMs = 20;
  const d = new RpcDispatcher({ logger: recordingLogger(lines), onCall: (o) => observed.push(o) });
  for (const pv of toyPrograms(state)) d.addProgram({ ...pv, ...opts });
  return { d, lines, observed, state };
}

describe('RpcDispatcher', () => {
  it('runs a procedure and encodes its result', async () => {
    const { d, observed } = setup();
    const out = await run(d, call(TOY_PROG, 1, TOYPROC_ECHO, (w) => w.opaque(Buffer.from('ping'))));
    assert.ok(out);
    assert.equal(acceptStat(out.h), SUCCESS);
    assert.equal(out.r.opaque(16).toString(), 'ping');
    assert.equal(observed.at(-1)?.outcome, 'SUCCESS');
    assert.equal(observed.at(-1)?.procName, 'ECHO');
  });

  it('reports PROG_UNAVAIL, PROG_MISMATCH with the full version range, PROC_UNAVAIL', async () => {
    const { d } = setup();
    assert.equal(acceptStat((await run(d, call(TOY_PROG + 1, 1, 0)))!.h), PROG_UNAVAIL);
    const mm = (await run(d, call(TOY_PROG, 2, 0)))!.h;
    assert.deepEqual(mm.kind === 'accepted' && mm.accept, { stat: PROG_MISMATCH, low: 1, high: 3 });
    assert.equal(acceptStat((await run(d, call(TOY_PROG, 3, 99)))!.h), PROC_UNAVAIL);
  });

  it('answers GARBAGE_ARGS for undecodable arguments and tolerates trailing bytes', async () => {
    const { d } = setup();
    const short = call(TOY_PROG, 1, TOYPROC_ECHO, (w) => w.uint32(100).uint32(1));
    assert.equal(acceptStat((await run(d, short))!.h), GARBAGE_ARGS);
    const trailing = call(TOY_PROG, 1, TOYPROC_ECHO, (w) => w.opaque(Buffer.from('ok')).uint32(0xdead));
    const out = (await run(d, trailing))!;
    assert.equal(acceptStat(out.h), SUCCESS);
    assert.equal(out.r.opaque(16).toString(), 'ok');
  });

  it('turns a handler exception (CoreError included) into SYSTEM_ERR and logs it with the xid', async () => {
    const { d, lines } = setup();
    for (const proc of [TOYPROC_THROW, TOYPROC_CORE_ERROR]) {
      const xid = 0xabc000 + proc;
      assert.equal(acceptStat((await run(d, call(TOY_PROG, 1, proc, undefined, { xid })))!.h), SYSTEM_ERR);
      assert.ok(lines.some((l) => l.level === 'error' && l.obj.xid === xid), `error logged for xid ${xid}`);
    }
  });

  it('checks the credential before looking the program up', async () => {
    const { d } = setup();
    const gss: OpaqueAuth = { flavor: RPCSEC_GSS, body: Buffer.alloc(16) };
    const out = (await run(d, call(0x7777, 1, 0, undefined, { cred: gss })))!;
    assert.deepEqual(out.h.kind === 'denied' && out.h.reject, { stat: AUTH_ERROR, authStat: AUTH_REJECTEDCRED });
  });

  it('refuses a flavor the version excludes with AUTH_TOOWEAK, except AUTH_NONE on NULL', async () => {
    const { d } = setup({ flavors: new Set([AUTH_SYS]) });
    const none = (await run(d, call(TOY_PROG, 1, TOYPROC_ECHO, (w) => w.opaque(Buffer.alloc(0)))))!;
    assert.deepEqual(none.h.kind === 'denied' && none.h.reject, { stat: AUTH_ERROR, authStat: AUTH_TOOWEAK });
    assert.equal(acceptStat((await run(d, call(TOY_PROG, 1, TOYPROC_NULL)))!.h), SUCCESS);
    const cred = authSysCred({ stamp: 1, machineName: 'm', uid: 42, gid: 7, gids: [] });
    const sys = (await run(d, call(TOY_PROG, 1, TOYPROC_WHOAMI, undefined, { cred })))!;
    assert.equal(acceptStat(sys.h), SUCCESS);
    assert.equal(sys.r.uint32(), AUTH_SYS);
    assert.equal(sys.r.uint32(), 42);
  });

  it('runs the admit hook with the parsed identity and honours its auth_stat', async () => {
    const seen: number[] = [];
    const { d } = setup({
      admit: (ctx) => {
        seen.push(ctx.auth.flavor);
        return ctx.remote.address.startsWith('10.') ? AUTH_TOOWEAK : 0;
      },
    });
    assert.equal(acceptStat((await run(d, call(TOY_PROG, 1, TOYPROC_NULL)))!.h), SUCCESS);
    const out = (await run(d, call(TOY_PROG, 1, TOYPROC_NULL), '10.1.1.1'))!;
    assert.deepEqual(out.h.kind === 'denied' && out.h.reject, { stat: AUTH_ERROR, authStat: AUTH_TOOWEAK });
    assert.deepEqual(seen, [AUTH_NONE, AUTH_NONE]);
  });

  it('drops undecodable headers and stray replies without answering', async () => {
    const { d } = setup();
    assert.equal(await run(d, Buffer.alloc(3)), undefined);
    const reply = Buffer.alloc(12);
    reply.writeUInt32BE(1, 4);
    assert.equal(await run(d, reply), undefined);
  });

  it('returns READ-style payloads as segments without copying', async () => {
    const { d } = setup();
    const segs = await d.dispatch(request(call(TOY_PROG, 1, TOYPROC_BIG, (w) => w.uint32(4096))));
    assert.ok(segs && segs.length >= 2);
    assert.ok(segs.some((s) => s.length === 4096), 'payload is its own segment');
  });

  it('executes a non-idempotent call once and replays its reply to a retransmission', async () => {
    const { d, state, observed } = setup();
    const rec = call(TOY_PROG, 1, TOYPROC_COUNT, (w) => w.opaque(Buffer.from('mkdir a')), { xid: 77 });
    const first = run(d, rec);
    const during = await run(d, rec); // while the first is still running
    assert.equal(during, undefined, 'retransmission of a running call is dropped');
    const a = (await first)!;
    const b = (await run(d, rec, '192.0.2.7'))!;
    assert.equal(state.count, 1);
    assert.ok(a.raw.equals(b.raw));
    assert.deepEqual(
      observed.map((o) => o.outcome),
      ['DROPPED', 'SUCCESS', 'DRC_REPLAY'],
    );
    // Another client with the same xid is a different request.
    await run(d, rec, '192.0.2.8');
    assert.equal(state.count, 2);
  });

  it('can run without a duplicate-request cache', async () => {
    const state = newToyState();
    state.countDelayMs = 1;
    const d = new RpcDispatcher({ drc: null });
    for (const pv of toyPrograms(state)) d.addProgram(pv);
    const rec = call(TOY_PROG, 1, TOYPROC_COUNT, (w) => w.opaque(Buffer.alloc(0)), { xid: 5 });
    await run(d, rec);
    await run(d, rec);
    assert.equal(state.count, 2);
  });

  it('shares a cache passed in', async () => {
    const drc = new DuplicateRequestCache();
    const state = newToyState();
    state.countDelayMs = 1;
    const d1 = new RpcDispatcher({ drc });
    const d2 = new RpcDispatcher({ drc });
    for (const pv of toyPrograms(state)) {
      d1.addProgram(pv);
      d2.addProgram(pv);
    }
    const rec = call(TOY_PROG, 1, TOYPROC_COUNT, (w) => w.opaque(Buffer.alloc(0)), { xid: 6 });
    await run(d1, rec);
    await run(d2, rec);
    assert.equal(state.count, 1);
  });

  it('refuses to add the same program version twice', () => {
    const { d } = setup();
    assert.throws(() => d.addProgram(toyPrograms(newToyState())[0]!));
  });
});
