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
  engine: z.enum(['lmdb', 'memory']).default('lmdb'),
  /**
   * Mode of the root directory when the volume is first created (default 0755, root-owned). The embedded
   * `--data` default uses 01777 (sticky, like /tmp) so SMB users mapped to ordinary uids can create files.
   */
  rootMode: z.number().int().min(0).max(0o7777).optional(),
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
      /** Credits (outstanding requests) per connection. */
      maxCredits: z.number().int().min(16).max(8192).default(512),
      /** Largest READ/WRITE payload offered (also bounded by the core's limits). */
      maxIo: z.number().int().min(65536).max(8 * 1024 * 1024).default(1024 * 1024),
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
  /** Seconds SIGTERM waits for in-flight requests before closing connections. */
  shutdownGraceSeconds: z.number().min(0).max(600).default(10),
});

export type GatewayConfig = z.infer<typeof ConfigSchema>;
export type ExportEntry = z.infer<typeof ExportSchema>;
export type VolumeEntry = z.infer<typeof VolumeSchema>;
