/**
 * Wires one gateway from its config: volumes (core), the export registry, the RPC servers for NFS and
 * MOUNT on every listen address, the portmapper (own on 111, or registration with a system rpcbind),
 * metrics. `close()` is the orderly shutdown SIGTERM runs.
 */
import type { ExportConfig } from '../cluster/vfs/exports';
import { openVolume } from '../cluster/vfs/open-volume';
import { redisOptions } from './redis-config';
import type { BrickCluster } from '../cluster/bricks/brick-cluster';
import type { Kv } from '../cluster/meta/kv';
import { AdminServer, type AdminVolume } from './admin';
import { openBrickCluster, registerClusterMetrics } from './distributed';
import type { Volume } from '../cluster/vfs/volume';
import { createMountPrograms } from '../protocols/mount/program';
import { createNfsExports, type NfsExportEntry } from '../protocols/nfs3/exports';
import { createNfs3Program } from '../protocols/nfs3/program';
import { PortmapRegistry, portmapPrograms } from '../protocols/portmap';
import { RpcbindRegistration } from '../protocols/rpc/rpcbind-register';
import { RpcServer, type RpcServerOptions } from '../protocols/rpc/server';
import type { PortRegistration } from '../protocols/rpc/types';
import type { GatewayConfig } from './config/schema';
import type { Logger } from './log';
import { GatewayMetrics } from './metrics';
import { startSmb, usersFileOf, type SmbService } from './smb';
import { attachNfs4 } from './nfs4';

export interface Gateway {
  nfsPort: number;
  mountPort: number;
  portmap: 'own' | 'registered' | 'off';
  /** SMB port, or null when SMB is not served (gateway/smb.ts). */
  smbPort: number | null;
  close(graceMs: number): Promise<void>;
}

function isAddrInUse(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || (e as NodeJS.ErrnoException).code === 'EACCES');
}

export async function startGateway(cfg: GatewayConfig, log: Logger): Promise<Gateway> {
  const metrics = new GatewayMetrics();
  const volumes = new Map<string, Volume>();
  const clusters = new Map<string, BrickCluster>();
  const adminVolumes = new Map<string, AdminVolume>();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    // 1. The core: one Volume per configured volume, with the exports that live in it.
    const entries: NfsExportEntry[] = [];
    for (const v of cfg.volumes) {
      const exps: ExportConfig[] = cfg.exports
        .filter((e) => e.volume === v.name)
        .map((e) => ({
          id: e.id!,
          name: e.name,
          path: e.path,
          readOnly: e.readOnly,
          rootSquash: e.rootSquash,
          allSquash: e.allSquash,
          anonUid: e.anonUid,
          anonGid: e.anonGid,
          secure: e.secure,
          clients: e.clients,
        }));
      // A volume with bricks gets its chunks from brick nodes, replicated (gateway/distributed.ts).
      let cluster: BrickCluster | undefined;
      const brick = v.bricks ? async (kv: Kv) => (cluster = await openBrickCluster(v, kv, log)).set : undefined;
      // Write-behind only in front of the in-process brick: on a replicated volume DESIGN invariant 6 wants a
      // replica that missed a write recorded for heal before any acknowledgement, UNSTABLE ones included.
      const vol = await openVolume({ dataDir: v.dataDir, exports: exps, chunkSize: v.chunkSize, engine: v.engine, writeBehindBytes: v.bricks ? 0 : v.writeBehindBytes, ...(v.rootMode !== undefined ? { root: { mode: v.rootMode } } : {}), ...(brick ? { brick } : {}), ...(v.engine === 'redis' ? { redis: redisOptions(v), volumeName: v.name, log } : {}) });
      volumes.set(v.name, vol);
      cleanups.unshift(() => vol.close());
      adminVolumes.set(v.name, { name: v.name, engine: v.engine, chunkSize: vol.chunkSize, ...(cluster ? { cluster } : {}) });
      if (cluster) {
        const c: BrickCluster = cluster;
        clusters.set(v.name, c);
        cleanups.unshift(() => c.stop());
        log.info({ volume: v.name, replica: c.set.replica, bricks: c.currentLayout.bricks }, 'distributed volume: bricks connected');
      }
      for (const config of exps) entries.push({ config, fs: vol });
      log.info({ volume: v.name, dataDir: v.dataDir, engine: v.engine, exports: exps.map((e) => e.name) }, 'volume open');
    }
    const exports = createNfsExports(entries);

    // 2. RPC servers. NFS and MOUNT each get their own port (as every NFS server does) and DRC.
    const rpcOpts = (protocol: string): RpcServerOptions => ({
      logger: log,
      maxRecordBytes: cfg.limits.maxRecordBytes,
      maxInFlightPerConnection: cfg.limits.maxInFlightPerConnection,
      maxConnections: cfg.limits.maxConnections,
      idleTimeoutMs: cfg.limits.idleConnectionSeconds * 1000,
      drc: { maxEntries: cfg.limits.drcEntries, maxBytes: cfg.limits.drcBytes },
      // Plain counters per call kind, handed to prom-client at scrape time (gateway/call-metrics.ts).
      onCall: (o) => metrics.calls.observe(o.prog, o.vers, o.proc, o.procName, o.outcome, o.seconds),
      onConnectionCount: (n) => metrics.connections.set({ protocol }, n),
    });
    const nfs = new RpcServer(rpcOpts('nfs')).addProgram(createNfs3Program(exports, log));
    const nfs4 = await attachNfs4(nfs, exports, log, { maxRecordBytes: cfg.limits.maxRecordBytes, ...cfg.nfs4, usersFile: usersFileOf(cfg) }); // NFSv4 on the same port (gateway/nfs4.ts)
    const mount = new RpcServer(rpcOpts('mount'));
    for (const p of createMountPrograms({ exports, log })) mount.addProgram(p);

    let nfsPort = cfg.nfs.port;
    let mountPort = cfg.nfs.mountPort;
    if (cfg.nfs.enabled) {
      for (const host of cfg.listen) {
        nfsPort = await nfs.listenTcp(host, nfsPort);
        mountPort = await mount.listenTcp(host, mountPort);
        if (cfg.nfs.udp) {
          await nfs.listenUdp(host, nfsPort);
          await mount.listenUdp(host, mountPort);
        }
      }
    }
    const closeServers = async (graceMs: number): Promise<void> => {
      await Promise.all([nfs.close({ graceful: true, timeoutMs: graceMs }), mount.close({ graceful: true, timeoutMs: graceMs })]);
    };

    // 3. Portmapper: serve program 100000 ourselves, or register with the rpcbind that owns the port.
    const services: PortRegistration[] = [...nfs.registrations(), ...mount.registrations()];
    let portmapMode: Gateway['portmap'] = 'off';
    let portmapServer: RpcServer | undefined;
    let rpcbindReg: RpcbindRegistration | undefined;
    if (cfg.nfs.enabled && cfg.nfs.portmap !== 'off') {
      if (cfg.nfs.portmap === 'own' || cfg.nfs.portmap === 'auto') {
        const registry = new PortmapRegistry();
        const pm = new RpcServer({ logger: log, drc: false });
        for (const p of portmapPrograms(registry)) pm.addProgram(p);
        try {
          for (const host of cfg.listen) {
            await pm.listenTcp(host, cfg.nfs.portmapPort);
            await pm.listenUdp(host, cfg.nfs.portmapPort);
          }
          registry.add([...services, ...pm.registrations()]);
          portmapServer = pm;
          portmapMode = 'own';
        } catch (e) {
          await pm.close({ graceful: false });
          if (cfg.nfs.portmap === 'own' || !isAddrInUse(e)) throw e;
          log.info({ port: cfg.nfs.portmapPort }, 'portmapper port taken: registering with the system rpcbind');
        }
      }
      if (portmapMode === 'off') {
        try {
          rpcbindReg = await RpcbindRegistration.register(services, { port: cfg.nfs.portmapPort, logger: log });
          portmapMode = 'registered';
        } catch (e) {
          if (cfg.nfs.portmap === 'register') throw e;
          log.warn({ err: String(e) }, 'no portmapper: clients must give NFS and MOUNT ports explicitly');
        }
      }
    }

    // 4. SMB2/3 on the same volumes and exports (gateway/smb.ts).
    const smb: SmbService = await startSmb(cfg, entries, log, metrics.registry);
    cleanups.unshift(() => smb.close(0));

    let metricsPort: number | null = null;
    if (cfg.metrics.port !== null) metricsPort = await metrics.listen(cfg.metrics.host, cfg.metrics.port);
    if (clusters.size) registerClusterMetrics(metrics.registry, clusters);
    metrics.registerVolumes(volumes);
    let adminPort: number | null = null;
    if (cfg.admin.port !== null) {
      const admin = new AdminServer(adminVolumes);
      adminPort = await admin.listen(cfg.admin.host, cfg.admin.port);
      cleanups.unshift(() => admin.close());
    }

    log.info({ listen: cfg.listen, nfsPort, mountPort, portmap: portmapMode, portmapPort: cfg.nfs.portmapPort, metricsPort, adminPort, smbPort: smb.port }, 'ready');

    return {
      nfsPort,
      mountPort,
      portmap: portmapMode,
      smbPort: smb.port,
      async close(graceMs: number) {
        // Stop advertising first, then drain requests, then flush and close the volumes.
        await rpcbindReg?.unregister();
        await portmapServer?.close({ graceful: false });
        await Promise.all([closeServers(graceMs), smb.close(graceMs)]);
        await nfs4.close();
        for (const c of cleanups) await c();
        await metrics.close();
      },
    };
  } catch (e) {
    for (const c of cleanups) await c().catch(() => undefined);
    throw e;
  }
}
