/**
 * The embedded engine's write-ahead log: what a durable transaction was told survives kill -9 of the
 * process, with the log doing the work (LMDB commits held back or frequent, log files switching), and a
 * torn record at the tail is cut off, never replayed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LmdbKv } from '../../cluster/meta/engines/lmdb-engine';
import { decodeWrites, encodeWrites, WriteAheadLog } from '../../cluster/meta/engines/write-ahead-log';
import { tempDir } from './helpers';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((c) => c()));

const k = (s: string) => Buffer.from(s, 'latin1');

/**
 * A child process that runs durable transactions one after another (each preceded by a non-durable one)
 * and prints each durable number once its transaction resolved; killed with SIGKILL after `acks` of them.
 * Returns the highest number it acknowledged.
 */
async function runAndKill(
  dir: string,
  opts: { deferMs: number; walFileBytes: number },
  acks: number,
): Promise<{ acked: number; checkpointWaits: number }> {
  const script = join(dir, 'child.js');
  const engine = join(__dirname, '../../cluster/meta/engines/lmdb-engine.js');
  writeFileSync(
    script,
    `const { LmdbKv } = require(${JSON.stringify(engine)});
const kv = new LmdbKv({ path: ${JSON.stringify(join(dir, 'store'))}, deferMs: ${opts.deferMs}, walFileBytes: ${opts.walFileBytes} });
const k = (s) => Buffer.from(s, 'latin1');
(async () => {
  for (let i = 0; ; i++) {
    // Non-durable first: the durable one after it may not survive without it (prefix order).
    await kv.txn(async (tx) => tx.put(k('nd/' + i), k('x'.repeat(1 + (i % 97)))));
    await kv.txn(async (tx) => {
      tx.put(k('d/' + i), k(String(i)));
      tx.put(k('count'), k(String(i + 1)));
      if (i > 0) tx.delete(k('d/' + (i - 1) + '/tmp'));
      tx.put(k('d/' + i + '/tmp'), k('t'));
    }, { durable: true });
    process.stdout.write(i + ' ' + kv.wal.counters.checkpointWaits + '\\n');
  }
})();
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last = -1;
  let checkpointWaits = 0;
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child acknowledged only ${last + 1} transactions in 60 s`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) [last, checkpointWaits] = l.split(' ').map(Number) as [number, number];
      if (last + 1 >= acks && child.exitCode === null && !child.killed) {
        child.kill('SIGKILL');
        clearTimeout(timer);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { acked: last, checkpointWaits };
}

async function checkRecovered(dir: string, acked: number, expectLogged: boolean): Promise<void> {
  const kv = new LmdbKv({ path: join(dir, 'store') });
  try {
    if (expectLogged) assert.ok(kv.walRecovered() > 0, 'the log held nothing beyond the store: the test did not exercise it');
    const count = Number((await kv.get(k('count')))!.toString());
    assert.ok(count >= acked + 1, `acknowledged ${acked + 1} durable transactions, recovered ${count}`);
    const d = await kv.range({ prefix: k('d/') });
    const names = new Set(d.map((e) => e.key.toString('latin1')));
    for (let i = 0; i < count; i++) {
      assert.ok(names.has(`d/${i}`), `d/${i} lost (count ${count})`);
      // Each transaction is whole: exactly one tmp key, the newest one's.
      assert.equal(names.has(`d/${i}/tmp`), i === count - 1, `d/${i}/tmp after recovery of ${count}`);
      assert.ok(await kv.get(k(`nd/${i}`)), `non-durable nd/${i} lost although durable d/${i} after it survived`);
    }
    // The recovered state is a store like any other: it takes new writes and keeps them across a close.
    await kv.txn(async (tx) => tx.put(k('after'), k('1')), { durable: true });
  } finally {
    await kv.close();
  }
  const again = new LmdbKv({ path: join(dir, 'store') });
  try {
    assert.equal(again.walRecovered(), 0, 'a clean close leaves nothing to replay');
    assert.equal((await again.get(k('after')))!.toString(), '1');
    assert.ok(Number((await again.get(k('count')))!.toString()) >= acked + 1);
    assert.equal((await again.range({ prefix: k('\xff') })).length, 0, "the engine's own key is not in range reads");
  } finally {
    await again.close();
  }
}

test('kill -9 with LMDB commits held back: every acknowledged transaction comes back from the log', async () => {
  const t = tempDir('wal-held');
  dirs.push(t.cleanup);
  const { acked } = await runAndKill(t.dir, { deferMs: 600_000, walFileBytes: 8 << 20 }, 400);
  await checkRecovered(t.dir, acked, true);
});

test('kill -9 with small log files: switching files waits for LMDB checkpoints, nothing is lost', async () => {
  const t = tempDir('wal-small');
  dirs.push(t.cleanup);
  // 16 KiB files hold ~100 records: the run switches files and waits for checkpoints many times.
  const { acked, checkpointWaits } = await runAndKill(t.dir, { deferMs: 600_000, walFileBytes: 16 << 10 }, 900);
  assert.ok(checkpointWaits >= 3, `only ${checkpointWaits} checkpoint waits: the switching path was not run`);
  await checkRecovered(t.dir, acked, true);
});

test('kill -9 with frequent LMDB commits: log and store together hold every acknowledged transaction', async () => {
  const t = tempDir('wal-often');
  dirs.push(t.cleanup);
  const { acked } = await runAndKill(t.dir, { deferMs: 2, walFileBytes: 64 << 10 }, 400);
  await checkRecovered(t.dir, acked, false);
});

test('a torn record ends the log: it and the records after it are never replayed, even later', async () => {
  const t = tempDir('wal-torn');
  dirs.push(t.cleanup);
  const payloads = [1, 2, 3, 4, 5].map((i) => encodeWrites([[`key${i}`, Buffer.from(`value${i}`)]], 1, 4 + 6));
  let queue = [...payloads];
  const take = () => queue.shift();
  const checkpointNow = async () => {
    throw new Error('not expected');
  };
  let wal = new WriteAheadLog({ dir: t.dir, fileBytes: 64 << 10, checkpointed: 0, take, checkpointNow });
  for (let i = 0; i < 5; i++) await wal.flush();
  await wal.close();
  // Flip a payload byte of record 4 (records are 20 header bytes + 22 payload bytes here).
  const f = join(t.dir, 'wal.0');
  const bytes = readFileSync(f);
  const rec = 20 + payloads[0]!.length;
  bytes[3 * rec + 25] ^= 0xff;
  writeFileSync(f, bytes);
  wal = new WriteAheadLog({ dir: t.dir, fileBytes: 64 << 10, checkpointed: 0, take, checkpointNow });
  assert.deepEqual(
    wal.recovered.map((r) => decodeWrites(r.payload)[0]![0]),
    ['key1', 'key2', 'key3'],
  );
  // A new record 4 of the same length as the torn one: the old record 5 right after it (valid, with the
  // next sequence number) must not become its successor.
  queue = [encodeWrites([['new4', Buffer.from('value4')]], 1, 4 + 6)];
  await wal.flush();
  await wal.close();
  wal = new WriteAheadLog({ dir: t.dir, fileBytes: 64 << 10, checkpointed: 0, take, checkpointNow });
  assert.deepEqual(
    wal.recovered.map((r) => decodeWrites(r.payload)[0]![0]),
    ['key1', 'key2', 'key3', 'new4'],
  );
  // Records the store's checkpoint covers are not returned.
  await wal.close();
  wal = new WriteAheadLog({ dir: t.dir, fileBytes: 64 << 10, checkpointed: 2, take, checkpointNow });
  assert.deepEqual(wal.recovered.map((r) => r.seq), [3, 4]);
  await wal.close();
});
