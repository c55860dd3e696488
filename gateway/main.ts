/**
 * Composition root and command line. `gateway serve --data DIR` is the embedded single-node default:
 * volume `data` under DIR, exported over NFSv3 as HOST:/data. Scripts outside the project rely on
 * these flags; keep them stable.
 */
import './v8-tiering'; // first: before any other module's code runs (see the file)
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, loadConfig, type ServeFlags } from './config/loader';
import { createLogger, type LogLevel } from './log';
import { userCommand } from './user-cli';
import { healCommand, volumeCommand } from './volume-cli';
import { brickCommand } from './brick-cli';

async function serve(flags: ServeFlags): Promise<void> {
  let cfg;
  try {
    cfg = loadConfig(flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`gateway: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(cfg.log.level as LogLevel);
  let gw;
  try {
    // Loaded here, not at the top: the whole server (every protocol) is ~0.4 s of CPU to load, which the
    // other commands (`gateway brick` above all, started once per brick node) have no use for.
    const { startGateway } = await import('./server');
    gw = await startGateway(cfg, log);
  } catch (e) {
    // A port in use or an unreadable data dir is an operator error: say it plainly, exit non-zero.
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'gateway failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await gw.close(cfg.shutdownGraceSeconds * 1000);
      log.info({}, 'stopped');
      process.exit(0);
    } catch (e) {
      log.error({ err: e }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A bug in one request must not take the whole gateway down silently: log it loudly and keep serving
  // only if it was not in the middle of a durability-critical path (those are awaited and reported).
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
}

let quietOnEpipe = false;
/**
 * `gateway heal status | head`: the reader going away is how a pipeline ends, not an error. Exit 0 without a
 * stack trace, as Unix tools do; any other stdout error stays fatal (rethrown, as an unhandled 'error' was).
 */
function exitQuietlyOnEpipe(): void {
  if (quietOnEpipe) return;
  quietOnEpipe = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnEpipe();
  await yargs(hideBin(['node', 'gateway', ...argv]))
    .scriptName('gateway')
    // `--no-portmap` is its own flag, not the negation of --portmap (which takes a mode).
    .parserConfiguration({ 'boolean-negation': false })
    .command(
      'serve',
      'serve NFS and SMB from the configured volumes',
      (y) =>
        y
          .option('config', { alias: 'c', type: 'string', describe: 'JSON config file' })
          .option('data', { type: 'string', describe: 'embedded default: volume "data" stored under DIR' })
          .option('listen', { type: 'string', array: true, describe: 'address(es) to serve on (default 0.0.0.0)' })
          .option('nfs-port', { type: 'number', describe: 'NFS port (default 2049)' })
          .option('mount-port', { type: 'number', describe: 'MOUNT port (default 20048)' })
          .option('portmap', { choices: ['auto', 'own', 'register', 'off'] as const, describe: 'portmapper mode (default auto)' })
          .option('no-portmap', { type: 'boolean', describe: 'same as --portmap off' })
          .option('portmap-port', { type: 'number', describe: 'portmapper port (default 111)' })
          .option('udp', { type: 'boolean', describe: 'also serve NFS/MOUNT over UDP (default true)' })
          .option('log-level', { type: 'string', describe: 'trace|debug|info|warn|error|silent' })
          .option('metrics-port', { type: 'number', describe: 'Prometheus /metrics port (default off)' })
          .option('admin-port', { type: 'number', describe: 'admin endpoint port on 127.0.0.1 for gateway volume/heal (default off)' })
          .option('smb-port', { type: 'number', describe: 'SMB port (default 445; given, SMB is required to start)' }),
      async (a) => {
        await serve({
          config: a.config,
          data: a.data,
          listen: a.listen as string[] | undefined,
          nfsPort: a['nfs-port'],
          mountPort: a['mount-port'],
          portmap: a['no-portmap'] ? 'off' : (a.portmap as ServeFlags['portmap']),
          portmapPort: a['portmap-port'],
          logLevel: a['log-level'],
          metricsPort: a['metrics-port'],
          adminPort: a['admin-port'],
          udp: a.udp,
          smbPort: a['smb-port'],
        });
      },
    )
    .command(userCommand)
    .command(volumeCommand)
    .command(healCommand)
    .command(brickCommand)
    .demandCommand(1)
    .strict()
    .help()
    .parseAsync();
}

if (require.main === module) {
  // See bin/gateway.js: more libuv threads so background fsyncs do not starve request I/O.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`gateway: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
