/**
 * `gateway brick --dir DIR --listen HOST:PORT` — a brick node: stores chunk objects (with per-block
 * checksums) in DIR and serves them to gateways over the brick wire protocol. Logs the same JSON
 * `"msg":"ready"` line as `serve` once it accepts connections (with the bound port, so `--listen
 * 127.0.0.1:0` is usable by scripts); SIGTERM/SIGINT finish the requests in flight and exit 0.
 */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { parseAddress } from '../cluster/bricks/remote-brick';
import { BrickServer } from '../cluster/bricks/brick-server';
import { ChecksummedBrick } from '../cluster/bricks/checksummed-brick';
import { createLogger, type LogLevel } from './log';

interface BrickArgs {
  dir: string;
  listen: string;
  'log-level'?: string;
  'max-connections'?: number;
  'max-in-flight'?: number;
  'max-payload'?: number;
  'max-memory-mb'?: number;
  'grace-seconds'?: number;
  'boot-id'?: string;
  'direct-writes'?: boolean;
}

async function runBrick(a: BrickArgs): Promise<void> {
  const log = createLogger((a['log-level'] ?? 'info') as LogLevel);
  let brick: ChecksummedBrick;
  let server: BrickServer;
  const dir = path.resolve(a.dir);
  try {
    const { host, port } = parseAddress(a.listen, true);
    brick = await ChecksummedBrick.open(dir, { name: a.listen, directWrites: a['direct-writes'] !== false });
    server = new BrickServer(brick, {
      brickId: brick.brickId,
      ...(a['boot-id'] ? { instance: `boot:${a['boot-id']}` } : {}),
      maxConnections: a['max-connections'],
      maxInFlight: a['max-in-flight'],
      maxPayload: a['max-payload'],
      maxBytesInFlight: a['max-memory-mb'] !== undefined ? a['max-memory-mb'] * 1024 * 1024 : undefined,
      log,
    });
    const addr = await server.listen(host, port);
    log.info({ role: 'brick', dir, listen: `${addr.address}:${addr.port}`, port: addr.port, brickId: brick.brickId, instance: server.instance, maxPayload: server.maxPayload }, 'ready');
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'brick failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await server.close((a['grace-seconds'] ?? 10) * 1000);
      await brick.close();
      log.info({}, 'stopped');
      process.exit(0);
    } catch (e) {
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
}

export const brickCommand: CommandModule<object, BrickArgs> = {
  command: 'brick',
  describe: 'run a brick node: store chunk objects in --dir and serve them to gateways on --listen',
  builder: (y: Argv) =>
    y
      .option('dir', { type: 'string', demandOption: true, describe: 'brick directory (created on first use)' })
      .option('listen', { type: 'string', demandOption: true, describe: 'HOST:PORT to serve on (port 0: any free port, printed in the ready line)' })
      .option('log-level', { type: 'string', describe: 'trace|debug|info|warn|error|silent' })
      .option('max-connections', { type: 'number', describe: 'connections at once (default 64)' })
      .option('max-in-flight', { type: 'number', describe: 'requests in flight per connection (default 64)' })
      .option('max-payload', { type: 'number', describe: 'largest read/write payload per frame in bytes (default 1 MiB)' })
      .option('direct-writes', {
        type: 'boolean',
        describe: 'write copies the gateway marks cold (replicas it does not read from) with O_DIRECT, past the page cache (default on; --direct-writes false to turn off)',
      })
      .option('max-memory-mb', { type: 'number', describe: 'MiB all requests in flight may hold before the brick stops reading (default 256)' })
      .option('grace-seconds', { type: 'number', describe: 'on SIGTERM, wait this long for requests in flight (default 10)' })
      .option('boot-id', { type: 'string', describe: "override the machine's boot id that gateways watch to learn that un-fsynced writes may be lost (tests simulate a reboot with it)" }) as unknown as Argv<BrickArgs>,
  handler: async (a) => {
    await runBrick(a);
  },
};
