/**
 * What every connection of one SMB server shares: configuration, the user database, the shares, the
 * server GUID and the nonce source for encryption.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../rpc/log';
import { BufferPool } from '../../cluster/vfs/buffer-pool';
import { SealOffload } from './session/seal-offload';
import { NonceSource } from './session/encryption';
import type { ShareRegistry } from './shares';
import type { ConnectionState, Session } from './state';
import type { SmbUserDb } from './users';
import { SUPPORTED_DIALECTS } from './constants';
import { filetimeFromNs } from './fscc/attrs';
import type { SmbObserver } from './observer';
import { CachingManager } from './leases/manager';

export type EncryptionPolicy = 'off' | 'enabled' | 'required';

export interface SmbServerOptions {
  logger: Logger;
  users: SmbUserDb;
  shares: ShareRegistry;
  /** NetBIOS computer name (upper case, ≤ 15 characters). */
  serverName?: string;
  /** Workgroup / NetBIOS domain. */
  domain?: string;
  /** Stable identity of this server (16 bytes); random per process when absent. */
  serverGuid?: Buffer;
  /** Require every session to sign (RequireMessageSigning). Default false (signing enabled on request). */
  signingRequired?: boolean;
  /** 'required': 3.x sessions are encrypted (older dialects refused); 'enabled': on client request. */
  encryption?: EncryptionPolicy;
  /** Dialects offered, any of 0x0202, 0x0210, 0x0300, 0x0302, 0x0311. Default: all. */
  dialects?: number[];
  /** Credits a client may hold at once (DESIGN invariant 11). */
  maxCredits?: number;
  /** Largest READ/WRITE/transact payload (MaxReadSize etc.). Default 1 MiB. */
  maxIo?: number;
  maxConnections?: number;
  maxSessionsPerConnection?: number;
  maxTreesPerSession?: number;
  maxOpensPerSession?: number;
  /** Commands being processed per connection before the socket stops reading. */
  maxInFlightPerConnection?: number;
  /** Allow anonymous (null) sessions, which can only reach IPC$. Default true (share listing). */
  allowAnonymous?: boolean;
  /** Per-request reports (metrics). */
  observer?: SmbObserver;
  /** Oplocks and leases (leases/manager.ts). Default: neither granted; break timeout 35 s. */
  oplocks?: boolean;
  leases?: boolean;
  breakTimeoutMs?: number;
}

export interface SmbServerContext {
  readonly log: Logger;
  readonly users: SmbUserDb;
  readonly shares: ShareRegistry;
  readonly serverName: string;
  readonly domain: string;
  readonly serverGuid: Buffer;
  readonly signingRequired: boolean;
  readonly encryption: EncryptionPolicy;
  readonly dialects: readonly number[];
  readonly maxCredits: number;
  readonly maxIo: number;
  readonly maxConnections: number;
  readonly maxSessionsPerConnection: number;
  readonly maxTreesPerSession: number;
  readonly maxOpensPerSession: number;
  readonly maxInFlightPerConnection: number;
  readonly allowAnonymous: boolean;
  readonly observer: SmbObserver | undefined;
  readonly startTime: bigint;
  readonly nonces: NonceSource;
  /**
   * Slabs for large received messages and their decrypted plaintext (maxIo plus headers each), lent per
   * message and given back once it has been processed; idle slabs are capped at about 64 MiB.
   */
  readonly messagePool: BufferPool;
  /** Seals and opens large transform messages in a worker thread (seal-offload.ts). */
  readonly sealer: SealOffload;
  /** Oplock and lease state of every connection. */
  readonly caching: CachingManager;
  /**
   * Every authenticated session of every connection by SessionId (MS-SMB2 GlobalSessionTable): a new
   * session that names a PreviousSessionId tears down the one its client left behind on another
   * connection (session-setup.ts). Entries come and go with the session (closeSession).
   */
  readonly sessionsById: Map<bigint, { session: Session; conn: ConnectionState }>;
  nextSessionId(): bigint;
  nextFileId(): bigint;
}

export function createServerContext(o: SmbServerOptions): SmbServerContext {
  const dialects = (o.dialects ?? [...SUPPORTED_DIALECTS]).filter((d) => (SUPPORTED_DIALECTS as readonly number[]).includes(d)).sort((a, b) => b - a);
  if (dialects.length === 0) throw new Error('no SMB dialect enabled');
  const maxIo = o.maxIo ?? 1024 * 1024;
  if (maxIo < 65536 || maxIo > 8 * 1024 * 1024) throw new RangeError('maxIo must be between 64 KiB and 8 MiB');
  // Session ids: a random high half so ids are not guessable across restarts, a counter below.
  const sessionBase = BigInt(((randomBytes(4).readUInt32LE(0) & 0x7fffffff) | 1) >>> 0) << 32n;
  let sessionCounter = 0n;
  let fileCounter = BigInt(randomBytes(2).readUInt16LE(0)) << 40n;
  return {
    log: o.logger,
    users: o.users,
    shares: o.shares,
    serverName: (o.serverName ?? 'GATEWAY').toUpperCase().slice(0, 15),
    domain: (o.domain ?? 'WORKGROUP').toUpperCase().slice(0, 15),
    serverGuid: o.serverGuid ?? randomBytes(16),
    signingRequired: o.signingRequired ?? false,
    encryption: o.encryption ?? 'enabled',
    dialects,
    maxCredits: o.maxCredits ?? 512,
    maxIo,
    maxConnections: o.maxConnections ?? 1024,
    maxSessionsPerConnection: o.maxSessionsPerConnection ?? 64,
    maxTreesPerSession: o.maxTreesPerSession ?? 64,
    maxOpensPerSession: o.maxOpensPerSession ?? 16384,
    maxInFlightPerConnection: o.maxInFlightPerConnection ?? 128,
    allowAnonymous: o.allowAnonymous ?? true,
    observer: o.observer,
    startTime: filetimeFromNs(BigInt(Date.now()) * 1_000_000n),
    nonces: new NonceSource(),
    // Shared memory: a sealed message and its plaintext go to the seal worker without a copy.
    messagePool: new BufferPool(maxIo + 64 * 1024, Math.max(4, Math.floor((64 * 1024 * 1024) / (maxIo + 64 * 1024))), true),
    // Ciphertext of sealed replies in flight: about 32 MiB of address space, resident once used.
    sealer: new SealOffload(maxIo + 64 * 1024, Math.max(4, Math.floor((32 * 1024 * 1024) / (maxIo + 64 * 1024)))),
    sessionsById: new Map(),
    caching: new CachingManager({ oplocks: o.oplocks ?? false, leases: o.leases ?? false, breakTimeoutMs: o.breakTimeoutMs ?? 35_000 }, o.logger),
    nextSessionId: () => sessionBase | ++sessionCounter,
    nextFileId: () => ++fileCounter,
  };
}
