/**
 * The gateway config file (JSON). Everything has a sane default so `gateway serve --data DIR` needs no
 * file at all; every limit of DESIGN invariant 11 is here.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

export const ClientRuleSchema = z.object({
  match: z.string().min(1),
  readOnly: z.boolean().optional(),
});

export const ExportSchema = z.object({
  /** Stable id carried in file handles; never reuse it for another export. Defaults to position + 1. */
  id: z.number().int().min(1).max(0xffffffff).optional(),
  name: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, 'export names are 1-80 of [A-Za-z0-9._-]'),
  volume: z.string().default('data'),
  path: z.string().startsWith('/').default('/'),
  readOnly: z.boolean().default(false),
  rootSquash: z.boolean().default(false),
  allSquash: z.boolean().default(false),
  anonUid: z.number().int().min(0).max(0xffffffff).default(65534),
  anonGid: z.number().int().min(0).max(0xffffffff).default(65534),
  /** Require reserved source ports (< 1024). Off: clients behind NAT and unprivileged ports are normal. */
  secure: z.boolean().default(false),
  clients: z.array(ClientRuleSchema).default([]),
  /** The export as an SMB share (gateway/smb.ts); readOnly and clients above apply to it too. */
  smb: z
    .object({
      /** Find `FILE.TXT` as `file.txt` (the core's case-insensitive lookup); NFS stays case-sensitive. */
      caseInsensitive: z.boolean().default(true),
      /** Refuse unencrypted access to this share (SMB 3.x sessions encrypt for it). */
      encryptData: z.boolean().default(false),
      /** Only these users of the user database may connect (absent: every user). */
      users: z.array(z.string().min(1)).max(1024).optional(),
      /** Only members of these gids may connect (absent: every group). */
      groups: z.array(z.number().int().min(0).max(0xffffffff)).max(1024).optional(),
      comment: z.string().max(256).default(''),
    })
    .default({}),
});

export const VolumeSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
  /** Where the embedded engine keeps metadata (meta/) and the in-process brick keeps chunks (brick/). */
  dataDir: z.string().min(1),
  chunkSize: z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .refine((n) => (n & (n - 1)) === 0, 'chunkSize must be a power of two')
    .default(4 * 1024 * 1024),
  engine: z.enum(['lmdb', 'memory', 'redis']).default('lmdb'),
  /**
   * engine "redis": the shared metadata store of a cluster of gateways (every gateway serving the volume
   * names the same store and keyPrefix). Redis must run with appendonly yes + appendfsync always (or be
   * >= 7.2 with appendonly yes) so acknowledged changes survive its restart; the gateway refuses
   * otherwise unless durability is "relaxed".
   */
  redis: z
    .object({
      /** redis://[user:password@]host:port[/db] */
      url: z.string().min(1).optional(),
      host: z.string().min(1).optional(),
      port: port.optional(),
      /** Sentinel addresses ("host:port" or {host, port}) with the master group `name`. */
      sentinels: z
        .array(z.union([z.string().regex(/^.+:\d+$/, 'sentinels are host:port'), z.object({ host: z.string().min(1), port })]))
        .optional(),
      name: z.string().min(1).optional(),
      db: z.number().int().min(0).max(65535).optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      /** Prefix of the volume's Redis keys; default "gw:{<volume name>}:". */
      keyPrefix: z.string().min(1).max(200).optional(),
      durability: z.enum(['strict', 'relaxed']).default('strict'),
      /** Durable changes also wait for this many replicas (WAIT). */
      minReplicas: z.number().int().min(0).max(16).default(0),
      /** An operation waits this long for Redis (connection or reply) before the client gets a retry-later error. */
      commandTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** Read cache entries, used while this gateway holds the volume's read lease (0: no cache, no lease). */
      cacheEntries: z.number().int().min(0).max(10_000_000).optional(),
      /** Read lease TTL: how long a dead holder can delay other gateways' writes. */
      leaseTtlMs: z.number().int().min(300).max(60_000).optional(),
    })
    .refine((r) => !(r.sentinels?.length && !r.name), 'sentinels need the master group name')
    .optional(),
  /**
   * Mode of the root directory when the volume is first created (default 0755, root-owned). The embedded
   * `--data` default uses 01777 (sticky, like /tmp) so SMB users mapped to ordinary uids can create files.
   */
  rootMode: z.number().int().min(0).max(0o7777).optional(),
  /**
   * Most bytes of NFS UNSTABLE writes answered before the brick has them (cluster/bricks/write-behind.ts):
   * the brick write then overlaps the client's next request. 0 turns it off. Nothing acknowledged as
   * stable depends on it: COMMIT waits for the queue, and a lost queued write changes the write verifier.
   * Used only for volumes on the in-process brick (not with `bricks`: see gateway/server.ts).
   */
  writeBehindBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
  /**
   * Distributed volume: the brick nodes (`gateway brick`) that hold its chunks, each with a stable id
   * (placement hashes the id, never the address). Absent: the in-process brick under dataDir. Read only
   * when the volume's metadata store has no brick layout yet; afterwards the stored layout wins and
   * `gateway volume add-brick|remove-brick` change it (gateway/distributed.ts).
   */
  bricks: z
    .array(z.object({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'brick ids are 1-64 of [A-Za-z0-9._-]'), address: z.string().min(1) }))
    .min(1)
    .optional(),
  /** Copies of every chunk (1, 2 or 3); with bricks only. Replica 2 uses the metadata store as arbiter. */
  replica: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1),
  /** Background copy rate limits (MiB/s, 0 = unlimited) for self-heal and rebalance. */
  healMiBps: z.number().min(0).default(128),
  rebalanceMiBps: z.number().min(0).default(128),
  /**
   * How often the heal journal is re-read in the background for other gateways' marks, so that this
   * gateway's healer works on them too (0 = never). Reads do not depend on it: they check the journal
   * version in the store first (cluster/bricks/heal-journal.ts).
   */
  healJournalRefreshMs: z.number().int().min(0).default(5000),
});

export const ConfigSchema = z.object({
  /** Addresses to serve on. Floating IPs (ha/) are added and removed at run time. */
  listen: z.array(z.string()).default(['0.0.0.0']),
  nfs: z
    .object({
      enabled: z.boolean().default(true),
      port: port.default(2049),
      mountPort: port.default(20048),
      udp: z.boolean().default(true),
      /**
       * auto: serve program 100000 on portmapPort if free, else register with the system rpcbind
       * there; own: serve it, fail if taken; register: only register; off: neither.
       */
      portmap: z.enum(['auto', 'own', 'register', 'off']).default('auto'),
      portmapPort: port.default(111),
    })
    .default({}),
  /** NFSv4 (gateway/nfs4.ts), on the NFS port. */
  nfs4: z
    .object({
      /** Lease period, seconds; a restarted gateway's grace period (reclaims only) lasts as long. */
      leaseSeconds: z.number().int().min(5).max(3600).default(90),
      /** Grace period after a restart (reclaims only), seconds; default: the lease period. */
      graceSeconds: z.number().int().min(1).max(3600).optional(),
      /** Cap on client records. */
      maxClients: z.number().int().min(1).max(1_000_000).default(10_000),
      /** NFSv4 id-mapping domain (owner "name@domain", protocols/nfs4/idmap.ts); unset: owners are numbers. */
      idmapDomain: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/).optional(),
      /** Send numeric owners to AUTH_SYS clients even with a domain (knfsd's nfs4_disable_idmapping=Y). */
      numericIdsForAuthSys: z.boolean().default(true),
    })
    .default({}),
  /** SMB2/3 (gateway/smb.ts). "auto": serve if the port can be bound, else warn and serve NFS only. */
  smb: z
    .object({
      enabled: z.union([z.boolean(), z.literal('auto')]).default('auto'),
      port: port.default(445),
      /** NT-hash user database (`gateway user add`); default <first volume's dataDir>/users.json. */
      usersFile: z.string().min(1).optional(),
      /** NetBIOS name and workgroup the server announces (NTLMSSP target, srvsvc). */
      serverName: z.string().regex(/^[A-Za-z0-9_-]{1,15}$/).default('GATEWAY'),
      workgroup: z.string().regex(/^[A-Za-z0-9_-]{1,15}$/).default('WORKGROUP'),
      /** "required": every session signs (RequireMessageSigning); "enabled": when the client asks. */
      signing: z.enum(['enabled', 'required']).default('enabled'),
      /** "required": 3.x sessions are encrypted and older dialects refused; "enabled": on request. */
      encryption: z.enum(['off', 'enabled', 'required']).default('enabled'),
      /** Credits per connection (64 KiB each: 2048 = 16 READs/WRITEs of 8 MiB in flight; Samba allows 8192). */
      maxCredits: z.number().int().min(16).max(8192).default(2048),
      /** Largest READ/WRITE payload offered (MaxReadSize/MaxWriteSize; 8 MiB as Samba: fewer, larger requests in flight). */
      maxIo: z.number().int().min(65536).max(8 * 1024 * 1024).default(8 * 1024 * 1024),
      /** Grant classic oplocks (Level II, Exclusive, Batch) and leases (protocols/smb2/leases). */
      oplocks: z.boolean().default(false),
      leases: z.boolean().default(false),
      /** How long a break waits for the client's acknowledgment before the request goes ahead (Windows: 35 s). */
      breakTimeoutMs: z.number().int().min(100).max(300_000).default(35_000),
    })
    .default({}),
  volumes: z.array(VolumeSchema).min(1),
  exports: z.array(ExportSchema).min(1),
  limits: z
    .object({
      maxRecordBytes: z.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(1024 * 1024 + 64 * 1024),
      maxInFlightPerConnection: z.number().int().min(1).max(4096).default(64),
      maxConnections: z.number().int().min(1).max(100000).default(1024),
      /** RPC TCP connections with no traffic for this long are closed; clients reconnect. 0 = never. */
      idleConnectionSeconds: z.number().int().min(0).max(86400).default(900),
      drcEntries: z.number().int().min(0).max(1_000_000).default(4096),
      drcBytes: z.number().int().min(0).default(64 * 1024 * 1024),
    })
    .default({}),
  log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).default({}),
  metrics: z.object({ port: port.nullable().default(null), host: z.string().default('127.0.0.1') }).default({}),
  /** JSON admin endpoint for `gateway volume ...` and `gateway heal ...` (gateway/admin.ts); off unless set. */
  admin: z.object({ port: port.nullable().default(null), host: z.string().default('127.0.0.1') }).default({}),
  /** Seconds SIGTERM waits for in-flight requests before closing connections. */
  shutdownGraceSeconds: z.number().min(0).max(600).default(10),
});

export type GatewayConfig = z.infer<typeof ConfigSchema>;
export type ExportEntry = z.infer<typeof ExportSchema>;
export type VolumeEntry = z.infer<typeof VolumeSchema>;
