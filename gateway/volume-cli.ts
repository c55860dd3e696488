/**
 * `gateway volume create|info|status|add-brick|remove-brick` and `gateway heal status|start`.
 *
 * Where the volume definition lives: in the volume's metadata store (brick layout record, key 'L', see
 * cluster/bricks/layout.ts), so that every gateway of the volume agrees on it. `volume create` writes it
 * offline into an embedded (lmdb) store before the first `serve` (a config that lists `bricks` does the
 * same on first start). The other commands talk to a running gateway's admin endpoint (`serve
 * --admin-port P`, gateway/admin.ts): a layout change must be made by the gateway that serves the volume.
 */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { BrickSpec } from '../cluster/bricks/replica-set';
import { CoreError, Errc } from '../cluster/vfs/errors';

class CliError extends Error {}

function parseBrick(s: string): BrickSpec {
  const i = s.indexOf('=');
  if (i <= 0) throw new CliError(`brick ${JSON.stringify(s)}: expected ID=HOST:PORT`);
  return { id: s.slice(0, i), address: s.slice(i + 1) };
}

async function call(admin: string | undefined, method: string, p: string, body?: unknown): Promise<any> {
  if (!admin) throw new CliError('pass --admin HOST:PORT (the admin endpoint of a running gateway: serve --admin-port P)');
  let res: Response;
  try {
    res = await fetch(`http://${admin}${p}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  } catch (e) {
    throw new CliError(`cannot reach the gateway admin endpoint at ${admin}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let o: any;
  try {
    o = JSON.parse(text);
  } catch {
    throw new CliError(`unexpected answer (${res.status}): ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new CliError(o.error ?? `HTTP ${res.status}`);
  return o;
}

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

function printVolume(v: any, out: (s: string) => void): void {
  out(`volume ${v.name}: engine ${v.engine}, chunk size ${v.chunkSize}${v.distributed ? '' : ', embedded (in-process brick)'}`);
  if (!v.distributed) return;
  const s = v.status;
  out(`  replica ${s.replica} (write quorum ${s.quorum}${s.replica === 2 ? ', metadata store as arbiter' : ''}), layout epoch ${s.epoch}`);
  for (const b of s.bricks) {
    out(`  brick ${b.id} ${b.address} ${b.up ? 'up' : `DOWN since ${b.downSince ?? '?'}${b.lastError ? ` (${b.lastError})` : ''}`}${b.member ? '' : ' (leaving)'}${b.healBacklog ? `, ${b.healBacklog} to heal` : ''}`);
  }
  const h = s.heal;
  out(`  heal: backlog ${h.backlog}, ${h.running ? 'running' : 'idle'}, healed ${h.healedObjects} objects (${mib(h.healedBytes)}), ${h.droppedReplayed} drops replayed${h.deferred ? `, ${h.deferred} deferred` : ''}${h.raced ? `, ${h.raced} copies redone after a write through another gateway` : ''}${h.busy ? `, ${h.busy} left to another gateway's healer` : ''}`);
  const r = s.rebalance;
  if (r.state !== 'idle') {
    out(`  rebalance: ${r.state}${r.from ? ` ${r.from.join(',')} -> ${r.to.join(',')}` : ''}: scanned ${r.scannedFiles} files / ${r.scannedObjects} objects, moved ${r.movedCopies} copies (${mib(r.movedBytes)}), fraction ${r.fraction.toFixed(3)}${r.pending ? `, ${r.pending} pending` : ''}${r.lastError ? `, last error: ${r.lastError}` : ''}`);
  }
  out(`  writes: ${s.writes.degraded} degraded (a replica missed, journaled), ${s.writes.failed} failed; reads: ${s.reads.failovers} failovers, ${s.reads.corrupt} corrupt copies found`);
}

interface VolArgs {
  action: string;
  name?: string;
  brick?: string[];
  replica?: number;
  'chunk-size'?: number;
  data?: string;
  admin?: string;
  json?: boolean;
  id?: string;
  force?: boolean;
}

async function runVolume(a: VolArgs): Promise<void> {
  const out = (s: string): void => void process.stdout.write(s + '\n');
  switch (a.action) {
    case 'create': {
      if (!a.data) throw new CliError('volume create needs --data DIR (the directory `gateway serve` uses for this volume)');
      const bricks = (a.brick ?? []).map(parseBrick);
      if (!bricks.length) throw new CliError('volume create needs at least one --brick ID=HOST:PORT');
      const replica = a.replica ?? 1;
      let made: { epoch: number; bricks: BrickSpec[]; replica: number } | undefined;
      let existed = false;
      // Loaded on use: the core is heavy, and every `gateway` command (brick nodes too) loads this file.
      const { openVolume } = await import('../cluster/vfs/open-volume');
      const { ensureLayout, loadLayout } = await import('../cluster/bricks/layout');
      const { MemoryBrick } = await import('../cluster/bricks/memory-brick');
      const vol = await openVolume({
        engine: 'lmdb',
        dataDir: path.resolve(a.data),
        exports: [],
        ...(a['chunk-size'] ? { chunkSize: a['chunk-size'] } : {}),
        brick: async (kv) => {
          existed = !!(await loadLayout(kv));
          made = await ensureLayout(kv, { replica, bricks });
          return new MemoryBrick(); // nothing is written to bricks here
        },
      });
      const cs = vol.chunkSize;
      await vol.close();
      if (existed) throw new CliError(`volume at ${a.data} already has a brick layout (epoch ${made!.epoch}): use add-brick/remove-brick on the running gateway`);
      out(`created volume ${a.name ?? 'data'} at ${path.resolve(a.data)}: replica ${made!.replica}, chunk size ${cs}, bricks ${made!.bricks.map((b) => `${b.id}=${b.address}`).join(' ')}`);
      return;
    }
    case 'info':
    case 'status': {
      const vs = a.name ? [await call(a.admin, 'GET', `/v1/volumes/${encodeURIComponent(a.name)}`)] : await call(a.admin, 'GET', '/v1/volumes');
      if (a.json) out(JSON.stringify(vs, null, 1));
      else for (const v of vs) printVolume(v, out);
      return;
    }
    case 'add-brick': {
      if (!a.name || !a.id) throw new CliError('usage: gateway volume add-brick NAME ID=HOST:PORT --admin HOST:PORT');
      const b = parseBrick(a.id);
      const r = await call(a.admin, 'POST', `/v1/volumes/${encodeURIComponent(a.name)}/bricks`, { ...b, ...(a.force ? { force: true } : {}) });
      out(`added brick ${b.id} (${b.address}) to ${a.name}; layout epoch ${r.layout.epoch}; rebalance started (gateway volume status ${a.name} shows progress)`);
      return;
    }
    case 'remove-brick': {
      if (!a.name || !a.id) throw new CliError('usage: gateway volume remove-brick NAME ID --admin HOST:PORT');
      const r = await call(a.admin, 'DELETE', `/v1/volumes/${encodeURIComponent(a.name)}/bricks/${encodeURIComponent(a.id)}${a.force ? '?force=1' : ''}`);
      out(`removing brick ${a.id} from ${a.name}; layout epoch ${r.layout.epoch}; its objects are moving (gateway volume status ${a.name} shows progress)`);
      return;
    }
    default:
      throw new CliError(`unknown volume action ${a.action}`);
  }
}

async function runHeal(a: VolArgs): Promise<void> {
  const out = (s: string): void => void process.stdout.write(s + '\n');
  const vs: any[] = a.name ? [await call(a.admin, 'GET', `/v1/volumes/${encodeURIComponent(a.name)}`)] : await call(a.admin, 'GET', '/v1/volumes');
  if (a.action === 'start') {
    for (const v of vs.filter((x) => x.distributed)) await call(a.admin, 'POST', `/v1/volumes/${encodeURIComponent(v.name)}/heal`);
  }
  const rows = vs.filter((v) => v.distributed).map((v) => ({ name: v.name, heal: v.status.heal, bricks: v.status.bricks }));
  if (a.json) return out(JSON.stringify(rows, null, 1));
  if (!rows.length) return out('no distributed volume (nothing to heal)');
  for (const r of rows) {
    const h = r.heal;
    out(`volume ${r.name}: heal backlog ${h.backlog}${a.action === 'start' ? ' (pass started)' : ''}, ${h.running ? 'running' : 'idle'}, healed ${h.healedObjects} objects (${mib(h.healedBytes)}), ${h.droppedReplayed} drops replayed${h.deferred ? `, ${h.deferred} deferred` : ''}${h.raced ? `, ${h.raced} copies redone after a write through another gateway` : ''}${h.busy ? `, ${h.busy} left to another gateway's healer` : ''}${h.lastError ? `, last error: ${h.lastError}` : ''}`);
    for (const b of r.bricks) out(`  brick ${b.id} ${b.up ? 'up' : 'DOWN'}: ${b.healBacklog} to heal`);
  }
}

function fail(e: unknown): never {
  process.stderr.write(`gateway: ${e instanceof Error ? e.message : String(e)}\n`);
  // Usage and bad input (a CliError, or a refused layout) exit 2, like config errors; anything else 1.
  process.exit(e instanceof CliError || (e instanceof CoreError && e.errc === Errc.INVAL) ? 2 : 1);
}

export const volumeCommand: CommandModule<object, VolArgs> = {
  command: 'volume <action> [name] [id]',
  describe: 'distributed volumes: create | info | status | add-brick NAME ID=HOST:PORT | remove-brick NAME ID',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['create', 'info', 'status', 'add-brick', 'remove-brick'] as const, demandOption: true })
      .positional('name', { type: 'string', describe: 'volume name' })
      .positional('id', { type: 'string', describe: 'add-brick: ID=HOST:PORT; remove-brick: ID' })
      .option('brick', { type: 'string', array: true, describe: 'create: a brick as ID=HOST:PORT (repeat)' })
      .option('replica', { type: 'number', choices: [1, 2, 3], describe: 'create: copies of each chunk (default 1)' })
      .option('chunk-size', { type: 'number', describe: 'create: bytes per chunk object (power of two, default 4 MiB)' })
      .option('data', { type: 'string', describe: 'create: the volume data directory (embedded metadata store)' })
      .option('admin', { type: 'string', describe: 'HOST:PORT of a running gateway admin endpoint (serve --admin-port)' })
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('force', { type: 'boolean', describe: 'add-brick/remove-brick: do not wait for other registered gateways to switch to the new layout (only for a gateway known to be gone: one still running could lose writes)' }) as unknown as Argv<VolArgs>,
  handler: async (a) => {
    await runVolume(a).catch(fail);
  },
};

export const healCommand: CommandModule<object, VolArgs> = {
  command: 'heal <action> [name]',
  describe: 'self-heal of distributed volumes: status | start',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['status', 'start'] as const, demandOption: true })
      .positional('name', { type: 'string', describe: 'volume name (default: all)' })
      .option('admin', { type: 'string', describe: 'HOST:PORT of a running gateway admin endpoint (serve --admin-port)' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<VolArgs>,
  handler: async (a) => {
    await runHeal(a).catch(fail);
  },
};
