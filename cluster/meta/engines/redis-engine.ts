/**
 * Metadata engine on Redis (ioredis), for clusters of gateways sharing one namespace (DESIGN "Stores").
 * Several gateway processes open the same store; Redis is the only place where state lives (the engine
 * writes through). A gateway never answers a value another gateway has changed since (NFS close-to-open
 * across gateways; docs/redis-metadata.md): range reads always ask Redis, and point reads (get, getMany)
 * ask Redis unless this gateway holds the volume's read lease, during which Redis refuses every other
 * gateway's writes, so its cache cannot go stale (redis-lease.ts). With appendfsync always every round
 * trip waits for an AOF fsync while writes run; the lease leaves a create with its commit's round trips.
 *
 * Layout and scripts: redis-scripts.ts (a hash of values + a sorted set of keys, ZRANGEBYLEX order =
 * bytewise key order).
 *
 * Transactions are optimistic, as the contract says (kv.ts): reads are recorded (point reads with the
 * value seen, range reads with the rows seen and how far they went); writes are buffered. The commit is
 * one EVALSHA that checks every recorded read against the current values and applies the writes only if
 * all still hold, so a transaction is serializable against every other one on every gateway. A
 * transaction that made at most one read command, guessed nothing and writes nothing needs no
 * validation (one HMGET or range script is an atomic snapshot); otherwise a read-only transaction
 * validates with the same script and no writes. A callback that throws is validated too: on a stale
 * view it runs again instead.
 *
 * Guesses and pipelined commits: inside transactions (only there, since every read there is validated),
 * a key this process has written is read from memory: the write set of a commit still in flight
 * (`pending`), else of its latest answered commit (`recent`, bounded). A transaction that builds on an
 * unanswered commit queues its own commit right behind it on the same connection (Redis runs them in
 * order), so a chain of dependent changes (creates in one directory, which all rewrite the directory's
 * inode) shares round trips and AOF fsyncs instead of waiting for each in turn. A wrong guess (another
 * gateway changed the key, or the commit it came from failed) costs a retry, never a wrong result.
 *
 * Contention: the first attempt runs without any lock. A transaction whose read this process has since
 * overwritten reruns at once on what is known (no round trip). One that conflicted in Redis forgets its
 * guesses of the keys it read, prefetches them, and reruns holding this process's retry mutex (held only
 * until its commit has left); new transactions wait while that mutex is held, so a hot key degrades to a
 * serial chain in this process instead of livelocking. Against other gateways retries back off with
 * jitter. After `maxAttempts`: Errc.DELAY.
 *
 * Durability (`durable: true`, `sync()`): acknowledged metadata must survive a Redis restart. At open the
 * engine reads CONFIG appendonly / appendfsync:
 *   - appendonly yes + appendfsync always: Redis fsyncs the AOF before it sends any reply, so every
 *     acknowledged commit is on disk already; durable commits and sync() cost nothing extra.
 *   - appendonly yes + other appendfsync, Redis >= 7.2: durable commits are followed by WAITAOF 1 0 in
 *     the same pipeline (still one round trip), and sync() issues WAITAOF.
 *   - anything else (appendonly no, or an older Redis without appendfsync always, or CONFIG refused):
 *     refused at open, unless the volume sets `durability: 'relaxed'` (then a warning: a Redis crash may
 *     lose the last second of changes).
 * With `minReplicas` > 0, durable commits and sync() also WAIT for that many replicas, so a Sentinel
 * failover cannot drop an acknowledged change.
 *
 * Outages: ioredis reconnects by itself forever (with backoff); the offline queue is off, so nothing is
 * sent late. An operation that finds the connection down waits up to `commandTimeoutMs` for it to come
 * back, then fails with Errc.DELAY (NFS3ERR_JUKEBOX: the client retries); a command in flight when the
 * connection drops fails the same way. Such a commit's outcome is unknown (it may have run before the
 * drop); the client's retry then sees its effect, like a retransmitted non-idempotent NFS call.
 */
import { randomBytes } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import { CoreError, Errc } from '../../vfs/errors';
import { keyStr, rangeBounds, strKey, type Kv, type KvEntry, type KvRange, type KvStats, type KvTx, type KvTxnOptions, type StrBounds } from '../kv';
import { COMMIT_LUA, LEASE_LUA, RANGE_LUA } from './redis-scripts';
import { LeaseCache } from './redis-lease';
import { Mutex, sameValue } from './engine-util';
import { SortedMap } from './sorted-map';

/** Structured logging, pino style (the gateway passes its logger). */
export interface RedisKvLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RedisKvOptions {
  /** redis://[user:pass@]host:port[/db]; or host/port; or sentinels + name. */
  url?: string;
  host?: string;
  port?: number;
  /** Sentinel addresses; with `name` (the master group name) ioredis asks them for the master. */
  sentinels?: Array<{ host: string; port: number }>;
  name?: string;
  db?: number;
  username?: string;
  password?: string;
  /** Prefix of this volume's two Redis keys (one store per volume). */
  keyPrefix: string;
  /** 'strict' (default) refuses a Redis that cannot make acknowledged changes durable; 'relaxed' warns. */
  durability?: 'strict' | 'relaxed';
  /** Durable commits and sync() also wait for this many replicas (Sentinel setups). Default 0. */
  minReplicas?: number;
  /** How long an operation waits for a connection or a reply before Errc.DELAY. Default 10000. */
  commandTimeoutMs?: number;
  /** How long open waits for the first connection. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Read cache entries (redis-lease.ts): plain reads are answered from memory while this gateway holds
   * the volume's read lease. 0 turns cache and lease off (every read asks Redis). Default 50000.
   */
  cacheEntries?: number;
  /** Read lease TTL in ms: how long a dead holder delays other gateways' writes at most. Default 3000. */
  leaseTtlMs?: number;
  log?: RedisKvLogger;
}

/** How durable commits are made durable (see the header). */
type DurabilityMode = 'fsync-always' | 'waitaof' | 'none';

interface RangeRead {
  min: Buffer;
  max: Buffer;
  /** Base rows the transaction consumed, in order. */
  seen: KvEntry[];
}

/** The ioredis client with the scripts defined on it. */
interface ScriptedRedis extends Redis {
  gwCommit(h: Buffer, z: Buffer, l: Buffer, ...argv: Array<Buffer | string | number>): Promise<number>;
  gwLease(l: Buffer, m: Buffer, op: string, me: string, ms: number, channel: Buffer): Promise<number>;
  gwRangeBuffer(h: Buffer, z: Buffer, min: Buffer | string, max: Buffer | string, limit: number): Promise<Buffer[]>;
}

const EMPTY = Buffer.alloc(0);
const MINUS = Buffer.from('-');
const PLUS = Buffer.from('+');
const ALL: StrBounds = { loInclusive: true, limit: Infinity };
/** Keys remembered from this process's own commits (see RedisKv.recent). */
const RECENT_MAX = 16384;
/** First wait before re-acquiring a lost read lease, and the most it grows to (redis-lease.ts). */
const LEASE_RETRY_MIN_MS = 500;
const LEASE_RETRY_MAX_MS = 30_000;
/** How long a refused writer keeps everyone from acquiring the lease. */
const LEASE_CONTENDED_MS = 2000;

function lexMin(b: StrBounds): Buffer {
  if (b.lo === undefined) return MINUS;
  return Buffer.from((b.loInclusive ? '[' : '(') + b.lo, 'latin1');
}

function lexMax(b: StrBounds): Buffer {
  return b.hi === undefined ? PLUS : Buffer.from('(' + b.hi, 'latin1');
}

class RedisTx implements KvTx {
  /** Point reads: value seen (undefined = absent). */
  readonly reads = new Map<string, Buffer | undefined>();
  readonly ranges: RangeRead[] = [];
  readonly writes = new SortedMap<Buffer | null>();
  /** Read commands sent to Redis (one alone is an atomic snapshot). */
  readCommands = 0;
  /** Some read came from this process's pending commits or a prefetch: the view needs validating. */
  speculative = false;

  constructor(
    private readonly kv: RedisKv,
    /** Values read just before this attempt (the keys the previous attempt read), see txn(). */
    private readonly prefetched?: Map<string, Buffer | undefined>,
  ) {}

  /**
   * A value known without a round trip: this process's latest write of the key, a prefetch, or the read
   * cache. All count as speculative: a cached value and a value fetched later are not one snapshot, so
   * even a read-only transaction that used one is validated.
   */
  private known(s: string): { v: Buffer | undefined } | undefined {
    const p = this.kv.guess(s);
    if (p) return p;
    if (this.prefetched?.has(s)) return { v: this.prefetched.get(s) };
    return this.kv.cached(s);
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const s = keyStr(key);
    const w = this.writes.get(s);
    if (w !== undefined) return w ?? undefined;
    if (this.reads.has(s)) return this.reads.get(s);
    const k = this.known(s);
    if (k) {
      this.speculative = true;
      this.reads.set(s, k.v);
      return k.v;
    }
    this.readCommands++;
    const v = await this.kv.get(key);
    // A concurrent read of the same key in this transaction may have landed first: keep the first.
    if (!this.reads.has(s)) this.reads.set(s, v);
    return this.reads.get(s);
  }

  async getMany(keys: readonly Buffer[]): Promise<Array<Buffer | undefined>> {
    const strs = keys.map(keyStr);
    const missing: Buffer[] = [];
    const missingStr: string[] = [];
    const asked = new Set<string>();
    for (let i = 0; i < keys.length; i++) {
      const s = strs[i]!;
      if (this.writes.get(s) !== undefined || this.reads.has(s) || asked.has(s)) continue;
      const k = this.known(s);
      if (k) {
        this.speculative = true;
        this.reads.set(s, k.v);
        continue;
      }
      asked.add(s);
      missing.push(keys[i]!);
      missingStr.push(s);
    }
    if (missing.length) {
      this.readCommands++;
      const vals = await this.kv.getMany(missing);
      missingStr.forEach((s, i) => {
        if (!this.reads.has(s)) this.reads.set(s, vals[i]);
      });
    }
    return strs.map((s) => {
      const w = this.writes.get(s);
      if (w !== undefined) return w ?? undefined;
      return this.reads.get(s);
    });
  }

  /** Validation can be skipped: nothing read, or one read command alone (an atomic snapshot). */
  get snapshot(): boolean {
    return !this.speculative && this.readCommands <= 1;
  }

  async range(r: KvRange): Promise<KvEntry[]> {
    const b = rangeBounds(r);
    const out: KvEntry[] = [];
    if (b.limit === 0) return out;
    // Enough base rows to fill the page: every base row yields an output row unless one of our own
    // deletes hides it, and there are at most as many of those as writes inside the bounds.
    let local = 0;
    for (const _ of this.writes.entries(b)) local++;
    const fetch = b.limit === Infinity ? -1 : b.limit + local;
    this.readCommands++;
    const base = await this.kv.rawRange(b, fetch);
    const truncated = fetch >= 0 && base.length >= fetch;
    const rec: RangeRead = { min: lexMin(b), max: lexMax(b), seen: [] };
    this.ranges.push(rec);
    const lit = this.writes.entries(b);
    let bi = 0;
    let ln = lit.next();
    try {
      while (bi < base.length || !ln.done) {
        const bk = bi < base.length ? keyStr(base[bi]!.key) : undefined;
        let key: string;
        let value: Buffer | null;
        if (ln.done || (bk !== undefined && bk < ln.value[0])) {
          rec.seen.push(base[bi]!);
          key = bk!;
          value = base[bi]!.value;
          bi++;
        } else if (bk === undefined || ln.value[0] < bk) {
          // A local row beyond the last fetched base row of a truncated fetch would skip base rows.
          if (bk === undefined && truncated) throw new CoreError(Errc.IO, 'kv: range merge ran past its fetch');
          [key, value] = ln.value;
          ln = lit.next();
        } else {
          rec.seen.push(base[bi]!);
          [key, value] = ln.value;
          bi++;
          ln = lit.next();
        }
        if (value !== null) {
          out.push({ key: strKey(key), value });
          if (out.length >= b.limit) {
            // Validated only up to here: rows past the page do not matter to this transaction.
            rec.max = Buffer.from('[' + key, 'latin1');
            return out;
          }
        }
      }
      return out;
    } finally {
      lit.return?.(undefined);
    }
  }

  async rangeKeys(r: KvRange): Promise<Buffer[]> {
    return (await this.range(r)).map((e) => e.key);
  }

  put(key: Buffer, value: Buffer): void {
    if (value.length === 0) throw new CoreError(Errc.INVAL, 'kv: empty value');
    this.writes.set(keyStr(key), value);
  }

  delete(key: Buffer): void {
    this.writes.set(keyStr(key), null);
  }

  /** The COMMIT script's ARGV (see redis-scripts.ts), with or without the writes. */
  commitArgs(withWrites: boolean, me: string): Array<Buffer | string | number> {
    const argv: Array<Buffer | string | number> = [this.reads.size, this.ranges.length, withWrites ? this.writes.size : 0, me];
    for (const [k, v] of this.reads) argv.push(strKey(k), v ?? EMPTY);
    for (const r of this.ranges) {
      argv.push(r.min, r.max, r.seen.length);
      for (const e of r.seen) argv.push(e.key);
      for (const e of r.seen) argv.push(e.value);
    }
    if (withWrites) for (const [k, v] of this.writes.entries(ALL)) argv.push(strKey(k), v ?? EMPTY);
    return argv;
  }
}

/** Errors of ioredis and of Redis → the core's vocabulary. */
function mapError(e: unknown): CoreError {
  if (e instanceof CoreError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const name = e instanceof Error ? e.name : '';
  if (name === 'ReplyError') {
    // Transient server states: loading the AOF after a restart, a replica until failover completes.
    if (/^(LOADING|READONLY|BUSY|TRYAGAIN|MASTERDOWN|NOREPLICAS)/.test(msg)) return new CoreError(Errc.DELAY, `metadata store: ${msg}`);
    if (/^OOM/.test(msg)) return new CoreError(Errc.NOSPC, `metadata store: ${msg}`);
    return new CoreError(Errc.IO, `metadata store: ${msg}`);
  }
  // Connection closed or not writable, command timed out, reconnecting: the store is unreachable now.
  return new CoreError(Errc.DELAY, `metadata store unavailable: ${msg}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class RedisKv implements Kv {
  private readonly redis: ScriptedRedis;
  private readonly hashKey: Buffer;
  private readonly zsetKey: Buffer;
  private readonly retryMutex = new Mutex();
  private readonly counters: KvStats = { commits: 0, conflicts: 0, durableCommits: 0 };
  private readonly waitMs: number;
  private readonly minReplicas: number;
  private readonly log: RedisKvLogger | undefined;
  private mode: DurabilityMode = 'none';
  /** Why durable changes are refused (strict durability, and Redis came back without persistence). */
  private refusal: string | undefined;
  private closed = false;
  private readyWait: Promise<void> | undefined;
  /** Writes of commits sent and not yet answered, by key (the newest commit's). */
  private readonly pending = new Map<string, { v: Buffer | null; seq: number }>();
  /** Values of this process's latest answered commits, by key (guesses only, see guess). Bounded. */
  private readonly recent = new Map<string, { v: Buffer | null; seq: number }>();
  private seq = 0;
  /** Read lease and cache (redis-lease.ts); keys and channel of the lease. */
  private readonly cache: LeaseCache;
  private readonly leaseKey: Buffer;
  private readonly markKey: Buffer;
  private readonly channel: Buffer;
  /** This engine instance's id in the lease and in COMMIT. */
  private readonly me = randomBytes(9).toString('base64');
  /** Subscriber connection that hears "give the lease back" at once (renewals catch it otherwise). */
  private sub: Redis | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  /** Wait before the next acquire attempt; doubles each time the lease is taken away. */
  private leaseBackoffMs = LEASE_RETRY_MIN_MS;
  private heldSince = 0;
  private leaseOp: Promise<void> | undefined;
  /** Lease steps run (from open until close). */
  private leaseOn = false;

  private constructor(private readonly opts: RedisKvOptions) {
    this.waitMs = opts.commandTimeoutMs ?? 10_000;
    this.minReplicas = Math.max(0, opts.minReplicas ?? 0);
    this.log = opts.log;
    this.hashKey = Buffer.from(`${opts.keyPrefix}d`);
    this.zsetKey = Buffer.from(`${opts.keyPrefix}z`);
    this.leaseKey = Buffer.from(`${opts.keyPrefix}l`);
    this.markKey = Buffer.from(`${opts.keyPrefix}b`);
    this.channel = Buffer.from(`${opts.keyPrefix}brk`);
    this.cache = new LeaseCache({ maxEntries: Math.max(0, opts.cacheEntries ?? 50_000), ttlMs: Math.max(300, opts.leaseTtlMs ?? 3000) });
    const common: RedisOptions = {
      lazyConnect: true,
      // Never queue commands while disconnected: a queued commit sent minutes later, after the client
      // was told it failed, would surprise everyone. `ready()` waits a bounded time instead.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
      commandTimeout: this.waitMs,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      // Reconnect forever, backing off to 1 s between attempts.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // Commands issued in one event-loop turn share one write to the socket.
      enableAutoPipelining: true,
      connectionName: 'gateway-meta',
    };
    if (opts.db !== undefined) common.db = opts.db;
    if (opts.username !== undefined) common.username = opts.username;
    if (opts.password !== undefined) common.password = opts.password;
    let r: Redis;
    if (opts.sentinels && opts.sentinels.length) {
      if (!opts.name) throw new CoreError(Errc.INVAL, 'redis: sentinels need the master group name (`name`)');
      r = new Redis({ ...common, sentinels: opts.sentinels, name: opts.name });
    } else if (opts.url) {
      r = new Redis(opts.url, common);
    } else {
      r = new Redis({ ...common, host: opts.host ?? '127.0.0.1', port: opts.port ?? 6379 });
    }
    r.defineCommand('gwCommit', { lua: COMMIT_LUA, numberOfKeys: 3 });
    r.defineCommand('gwRange', { lua: RANGE_LUA, numberOfKeys: 2, readOnly: true });
    r.defineCommand('gwLease', { lua: LEASE_LUA, numberOfKeys: 2 });
    // An 'error' event without a listener would crash the process; ioredis reconnects by itself.
    let down = false;
    const lost = (err: string) => {
      if (!down && !this.closed) this.log?.warn({ store: this.where(), err }, 'redis metadata store unreachable; reconnecting');
      down = true;
    };
    r.on('error', (e: Error) => lost(e.message));
    r.on('close', () => {
      // Commands in flight may or may not have run: nothing cached can be trusted any more.
      this.cache.lose();
      lost('connection closed');
    });
    r.on('ready', () => {
      this.scheduleLease(0);
      if (down) {
        this.log?.info({ store: this.where() }, 'redis metadata store reconnected');
        // A restarted Redis may come back with another persistence setting.
        void this.checkDurability().catch((e: unknown) => this.log?.warn({ store: this.where(), err: String(e) }, 'redis metadata store durability check'));
      }
      down = false;
    });
    this.redis = r as ScriptedRedis;
  }

  /** Connects, checks that Redis can keep acknowledged changes (see the header), and returns the engine. */
  static async open(opts: RedisKvOptions): Promise<RedisKv> {
    if (!opts.keyPrefix) throw new CoreError(Errc.INVAL, 'redis: keyPrefix required');
    const kv = new RedisKv(opts);
    try {
      // A Redis that is still starting (or restarting) gets connectTimeoutMs to come up: ioredis keeps
      // retrying after a refused first attempt.
      const first = await kv.redis.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      const status = (): string => kv.redis.status;
      if (first !== undefined && status() !== 'ready') {
        const until = Date.now() + (opts.connectTimeoutMs ?? 10_000);
        while (status() !== 'ready' && status() !== 'end' && Date.now() < until) await sleep(50);
        if (status() !== 'ready') throw first;
      }
      await kv.checkDurability();
      if (kv.refusal) throw new CoreError(Errc.IO, kv.refusal);
      await kv.startLease();
    } catch (e) {
      kv.sub?.disconnect();
      kv.redis.disconnect();
      kv.closed = true;
      if (e instanceof CoreError) throw e;
      throw new CoreError(Errc.IO, `redis metadata store: cannot connect: ${e instanceof Error ? e.message : String(e)}`);
    }
    return kv;
  }

  /** The durability mode this Redis allows; strict: a refusal of durable changes if it allows none. */
  private async checkDurability(): Promise<void> {
    let appendonly = '?';
    let appendfsync = '?';
    let version = '0';
    try {
      const cfg = (await this.redis.call('CONFIG', 'GET', 'append*')) as string[];
      for (let i = 0; i + 1 < cfg.length; i += 2) {
        if (cfg[i] === 'appendonly') appendonly = cfg[i + 1]!;
        if (cfg[i] === 'appendfsync') appendfsync = cfg[i + 1]!;
      }
      const info = await this.redis.info('server');
      version = /redis_version:([0-9.]+)/.exec(info)?.[1] ?? '0';
    } catch (e) {
      appendonly = `unknown (${e instanceof Error ? e.message : String(e)})`;
    }
    const [maj = 0, min = 0] = version.split('.').map(Number);
    let mode: DurabilityMode;
    if (appendonly === 'yes' && appendfsync === 'always') mode = 'fsync-always';
    else if (appendonly === 'yes' && (maj > 7 || (maj === 7 && min >= 2))) mode = 'waitaof';
    else mode = 'none';
    const where = this.where();
    if (mode === 'none') {
      const why =
        `redis metadata store at ${where}: appendonly=${appendonly} appendfsync=${appendfsync} (version ${version}): ` +
        'acknowledged metadata changes would not survive a Redis restart; run Redis with "appendonly yes" and ' +
        '"appendfsync always" (or Redis >= 7.2 with appendonly yes), or set durability "relaxed" on the volume';
      this.log?.warn({ store: where }, why);
      this.refusal = this.opts.durability !== 'relaxed' ? why : undefined;
    } else this.refusal = undefined;
    this.mode = mode;
  }

  private where(): string {
    if (this.opts.sentinels?.length) return `sentinel ${this.opts.name}`;
    if (this.opts.url) return this.opts.url.replace(/\/\/[^@/]*@/, '//***@');
    return `${this.opts.host ?? '127.0.0.1'}:${this.opts.port ?? 6379}`;
  }

  /** Durability mode in force (tests, status). */
  get durabilityMode(): DurabilityMode {
    return this.mode;
  }

  /** Resolves when the connection is up; waits at most commandTimeoutMs, then Errc.DELAY. */
  private ready(): Promise<void> | undefined {
    if (this.closed) throw new CoreError(Errc.IO, 'metadata store closed');
    if (this.redis.status === 'ready') return undefined;
    if (this.redis.status === 'end') throw new CoreError(Errc.IO, 'metadata store connection ended');
    this.readyWait ??= new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(t);
        this.readyWait = undefined;
        resolve();
      };
      const t = setTimeout(() => {
        this.redis.off('ready', onReady);
        this.readyWait = undefined;
        reject(new CoreError(Errc.DELAY, `metadata store unavailable (${this.where()} not reachable for ${this.waitMs} ms)`));
      }, this.waitMs);
      this.redis.once('ready', onReady);
    });
    return this.readyWait;
  }

  private async run<T>(f: () => Promise<T>): Promise<T> {
    const w = this.ready();
    if (w) await w;
    try {
      return await f();
    } catch (e) {
      throw mapError(e);
    }
  }

  // ---- reads -----------------------------------------------------------------------------------------

  get(key: Buffer): Promise<Buffer | undefined> {
    const s = keyStr(key);
    const c = this.cache.lookup(s);
    if (c) return Promise.resolve(c.v);
    const epoch = this.cache.epoch;
    return this.run(async () => {
      const r = await this.redis.hgetBuffer(this.hashKey, key);
      const v = r && r.length ? r : undefined;
      this.fill(s, v, epoch);
      return v;
    });
  }

  getMany(keys: readonly Buffer[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    let out: Array<Buffer | undefined> | undefined;
    let missing: number[] | undefined;
    if (this.cache.usable) {
      out = new Array<Buffer | undefined>(keys.length);
      missing = [];
      for (let i = 0; i < keys.length; i++) {
        const c = this.cache.lookup(keyStr(keys[i]!));
        if (c) out[i] = c.v;
        else missing.push(i);
      }
      if (missing.length === 0) return Promise.resolve(out);
    }
    const epoch = this.cache.epoch;
    const ask = missing ? missing.map((i) => keys[i]!) : keys;
    return this.run(async () => {
      const vals = (await this.redis.hmgetBuffer(this.hashKey, ...ask)).map((v) => (v && v.length ? v : undefined));
      ask.forEach((k, j) => this.fill(keyStr(k), vals[j], epoch));
      if (!out || !missing) return vals;
      missing.forEach((i, j) => (out![i] = vals[j]));
      return out;
    });
  }

  /** The read cache's value of a key (while the lease is held). */
  cached(s: string): { v: Buffer | undefined } | undefined {
    return this.cache.lookup(s);
  }

  /** A read answer into the cache, unless a commit of ours that writes the key is unanswered (see redis-lease.ts). */
  private fill(s: string, v: Buffer | undefined, epoch: number): void {
    if (this.cache.held && !this.pending.has(s)) this.cache.set(s, v, epoch);
  }

  /** Rows inside the bounds, at most `limit` (-1: all), in key order. */
  rawRange(b: StrBounds, limit: number): Promise<KvEntry[]> {
    return this.run(async () => {
      const flat = await this.redis.gwRangeBuffer(this.hashKey, this.zsetKey, lexMin(b), lexMax(b), limit);
      const out: KvEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const value = flat[i + 1]!;
        if (value.length) out.push({ key: flat[i]!, value });
      }
      return out;
    });
  }

  async range(r: KvRange): Promise<KvEntry[]> {
    const b = rangeBounds(r);
    if (b.limit === 0) return [];
    return this.rawRange(b, b.limit === Infinity ? -1 : b.limit);
  }

  async rangeKeys(r: KvRange): Promise<Buffer[]> {
    const b = rangeBounds(r);
    if (b.limit === 0) return [];
    return this.run(() =>
      b.limit === Infinity
        ? this.redis.zrangebylexBuffer(this.zsetKey, lexMin(b), lexMax(b))
        : this.redis.zrangebylexBuffer(this.zsetKey, lexMin(b), lexMax(b), 'LIMIT', 0, b.limit),
    );
  }

  // ---- transactions ----------------------------------------------------------------------------------

  /**
   * This process's best guess of a key's value without asking Redis: what its unanswered commits will
   * make it (see send), else what its last answered commit of the key made it (unless another gateway
   * changed it since: then validation fails and the key is forgotten). Transactions only; every guess is
   * checked at commit.
   */
  guess(s: string): { v: Buffer | undefined } | undefined {
    const p = this.pending.get(s) ?? this.recent.get(s);
    return p ? { v: p.v ?? undefined } : undefined;
  }

  /** Whether a read would certainly fail validation: this process has since written another value. */
  private staleLocally(tx: RedisTx): boolean {
    for (const [k, v] of tx.reads) {
      const g = this.pending.get(k) ?? this.recent.get(k);
      if (g && !sameValue(g.v ?? undefined, v)) return true;
    }
    return false;
  }

  private remember(k: string, v: Buffer | null, seq: number): void {
    const cur = this.recent.get(k);
    if (cur && cur.seq > seq) return;
    this.recent.delete(k);
    if (this.recent.size >= RECENT_MAX) this.recent.delete(this.recent.keys().next().value as string);
    // Memory of its own: writers hand in slices of Node's shared Buffer pool, and a kept slice would pin
    // its whole 8 KiB pool block.
    let own: Buffer | null = null;
    if (v) {
      own = Buffer.allocUnsafeSlow(v.length);
      v.copy(own);
    }
    this.recent.set(k, { v: own, seq });
  }

  /**
   * Sends the COMMIT script (validate; with writes, apply) and returns the promise of its outcome (true:
   * every read still held). Its writes enter `pending` as it leaves: transactions that run meanwhile read
   * them there and queue their own commits behind it on the same connection, which Redis runs in order.
   * A chain of dependent commits (creates in one directory) then shares round trips and AOF fsyncs instead
   * of waiting for each in turn. If this commit fails, those that read its writes fail validation and run
   * again: pending values are only ever a guess that validation checks.
   */
  private send(tx: RedisTx, withWrites: boolean, durable: boolean): Promise<number> {
    const w = this.ready();
    if (w) return w.then(() => this.send(tx, withWrites, durable));
    if (withWrites && this.refusal) return Promise.reject(new CoreError(Errc.IO, this.refusal));
    const argv = tx.commitArgs(withWrites, this.me);
    const seq = ++this.seq;
    const epoch = this.cache.epoch;
    const keys: string[] = [];
    if (withWrites) {
      for (const [k, v] of tx.writes.entries(ALL)) {
        this.pending.set(k, { v, seq });
        keys.push(k);
      }
    }
    const drop = (ok: boolean) => {
      for (const k of keys) {
        const p = this.pending.get(k);
        if (ok) {
          const v = tx.writes.get(k)!;
          this.remember(k, v, seq);
          // A deleted key is not kept as "absent": files come and go by the thousand, their tombstones
          // would push live entries out.
          if (v) this.cache.set(k, v, epoch);
          else this.cache.forget(k);
        }
        if (p?.seq === seq) this.pending.delete(k);
      }
    };
    // Issued in the same turn, so auto-pipelining sends them back to back: still one round trip.
    const calls: Array<Promise<unknown>> = [this.redis.gwCommit(this.hashKey, this.zsetKey, this.leaseKey, ...argv)];
    if (withWrites && durable) {
      if (this.mode === 'waitaof') calls.push(this.redis.call('WAITAOF', 1, 0, this.waitMs));
      if (this.minReplicas > 0) calls.push(this.redis.call('WAIT', this.minReplicas, this.waitMs));
    }
    return Promise.all(calls).then(
      (res) => {
        const r = Number(res[0]);
        drop(r === 1);
        if (r === 1) this.checkWaits(res.slice(1));
        return r;
      },
      (e: unknown) => {
        drop(false);
        // The commit may have run: what the cache holds of its keys is not known to be true any more.
        if (keys.length) this.cache.clear();
        throw mapError(e);
      },
    );
  }

  /** Current values of keys (a retry's prefetch), or nothing if the store cannot be read now. */
  private async prefetch(keys: string[]): Promise<Map<string, Buffer | undefined> | undefined> {
    try {
      const vals = await this.getMany(keys.map(strKey));
      return new Map(keys.map((k, i) => [k, vals[i]]));
    } catch {
      return undefined;
    }
  }

  /** WAITAOF answers [local fsyncs, replica fsyncs]; WAIT answers the replicas reached. */
  private checkWaits(replies: unknown[]): void {
    let i = 0;
    if (this.mode === 'waitaof') {
      const r = replies[i++] as number[] | undefined;
      if (!r || Number(r[0]) < 1) throw new CoreError(Errc.IO, 'metadata store: change not fsynced in time (WAITAOF)');
    }
    if (this.minReplicas > 0) {
      const n = Number(replies[i++]);
      if (!(n >= this.minReplicas)) throw new CoreError(Errc.IO, `metadata store: change reached ${n} of ${this.minReplicas} replicas in time`);
    }
  }

  async txn<T>(fn: (tx: KvTx) => Promise<T>, opts?: KvTxnOptions): Promise<T> {
    const maxAttempts = opts?.maxAttempts ?? 64;
    const durable = !!opts?.durable;
    let prevReads: string[] = [];
    let prefetched: Map<string, Buffer | undefined> | undefined;
    /** Refused because another gateway holds the read lease: give up at this time. */
    let leaseDeadline = 0;
    let leaseSleep = 1;
    for (let attempt = 1; ; attempt++) {
      let release: (() => void) | undefined;
      if (attempt === 1) {
        // Retries go first: a new transaction would only conflict with them.
        if (this.retryMutex.locked) await this.retryMutex.idle();
      } else {
        // What the last attempt read is likely what this one reads: after a conflict in Redis, fetch it
        // before queueing for the mutex, so the callback below runs on known values and the mutex is
        // held briefly. (After a local conflict the last attempt's values serve as they are.)
        if (!prefetched && prevReads.length) prefetched = await this.prefetch(prevReads);
        release = await this.retryMutex.acquire();
      }
      let tx: RedisTx;
      let out: T | undefined;
      let err: unknown;
      let threw = false;
      let outcome: Promise<number>;
      try {
        if (this.closed) throw new CoreError(Errc.IO, 'metadata store closed');
        tx = new RedisTx(this, prefetched);
        try {
          out = await fn(tx);
        } catch (e) {
          threw = true;
          err = e;
        }
        // An unreachable store is not a decision taken on a stale view: report it as it is.
        if (threw && err instanceof CoreError && err.errc === Errc.DELAY && /metadata store/.test(err.message)) throw err;
        const writes = !threw && tx.writes.size > 0;
        if (this.staleLocally(tx)) {
          // Another transaction of this process wrote a key this one read: it would fail in Redis. Run
          // again at once on what is known now (no round trip), instead of learning it from Redis.
          outcome = Promise.resolve(0);
          prefetched = tx.reads;
        } else {
          prefetched = undefined;
          outcome = writes ? this.send(tx, true, durable) : tx.snapshot ? Promise.resolve(1) : this.send(tx, false, false);
        }
      } finally {
        // Held until the commit has left, not until it is answered (see send).
        release?.();
      }
      const r = await outcome;
      if (r === 2) {
        // Redis says another gateway holds the lease: whatever this process believed, it does not.
        if (this.cache.held) this.lost();
        // Another gateway holds the read lease: ask for it, then try again (not a conflict: nothing was
        // decided on a stale view). Bounded by the lease's TTL, which a dead holder lets run out.
        const now = Date.now();
        leaseDeadline ||= now + this.cache.opts.ttlMs + LEASE_CONTENDED_MS;
        if (now > leaseDeadline) throw new CoreError(Errc.DELAY, 'metadata store: another gateway did not give back the read lease');
        await this.run(() => this.redis.gwLease(this.leaseKey, this.markKey, 'break', this.me, LEASE_CONTENDED_MS, this.channel));
        await sleep(leaseSleep);
        leaseSleep = Math.min(leaseSleep * 2, 50);
        attempt--;
        prefetched = undefined;
        continue;
      }
      if (r !== 1) {
        this.counters.conflicts++;
        if (attempt >= maxAttempts) throw new CoreError(Errc.DELAY, 'metadata transaction kept conflicting');
        if (prefetched) continue; // local conflict
        prevReads = [...tx.reads.keys()];
        // Our guesses of these keys were wrong (another gateway changed them): ask Redis next time.
        for (const k of prevReads) {
          this.recent.delete(k);
          this.cache.forget(k);
        }
        // Against other gateways the mutex does not help: back off a little, with jitter.
        if (attempt > 2) await sleep(Math.random() * Math.min(2 ** (attempt - 2), 50));
        continue;
      }
      if (threw) throw err;
      if (tx.writes.size > 0) {
        this.counters.commits++;
        if (durable) this.counters.durableCommits++;
      }
      return out as T;
    }
  }

  async sync(): Promise<void> {
    if (this.refusal) throw new CoreError(Errc.IO, this.refusal);
    if (this.mode !== 'waitaof' && this.minReplicas === 0) {
      // fsync-always: every acknowledged commit is on disk already. relaxed: nothing to wait for.
      if (this.closed) throw new CoreError(Errc.IO, 'metadata store closed');
      return;
    }
    await this.run(async () => {
      const replies: unknown[] = [];
      if (this.mode === 'waitaof') replies.push(await this.redis.call('WAITAOF', 1, 0, this.waitMs));
      if (this.minReplicas > 0) replies.push(await this.redis.call('WAIT', this.minReplicas, this.waitMs));
      this.checkWaits(replies);
    });
  }

  stats(): KvStats {
    return { ...this.counters };
  }

  /** Deletes this store's keys (tests; `gateway volume delete` later). */
  async destroy(): Promise<void> {
    this.cache.clear();
    await this.run(() => this.redis.del(this.hashKey, this.zsetKey, this.leaseKey, this.markKey));
    this.cache.lose();
  }

  /** Cache and lease figures (tests, status). */
  cacheStats(): { held: boolean; entries: number; hits: number } {
    return { held: this.cache.usable, entries: this.cache.size, hits: this.cache.hits };
  }

  // ---- read lease (redis-lease.ts) -------------------------------------------------------------------

  /** Subscribes to "give the lease back" and tries to take the lease (at open). */
  private async startLease(): Promise<void> {
    if (!this.cache.enabled) return;
    const sub = this.redis.duplicate({ connectionName: 'gateway-meta-lease', autoResubscribe: false });
    this.sub = sub;
    sub.on('error', () => undefined); // reconnects by itself; renewals cover the gap
    sub.on('ready', () => void sub.subscribe(this.channel).catch(() => undefined));
    sub.on('message', (_ch: string, holder: string) => {
      if (holder === this.me) void this.giveBack();
    });
    // Subscribed before the first acquire, so no request to give the lease back goes unheard.
    await sub.connect().catch(() => undefined);
    if (sub.status === 'ready') await sub.subscribe(this.channel).catch(() => undefined);
    this.leaseOn = true;
    await this.leaseStep();
  }

  private scheduleLease(ms: number): void {
    if (!this.leaseOn || this.closed) return;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = undefined;
      if (!this.leaseOp) void this.leaseStep();
    }, ms);
    this.leaseTimer.unref();
  }

  /** Acquire (not held) or renew (held); then schedules the next step. */
  private leaseStep(): Promise<void> {
    const p = (async () => {
      if (this.closed || this.redis.status !== 'ready') return; // 'ready' schedules the next step
      const ttl = this.cache.opts.ttlMs;
      const held = this.cache.held;
      const epoch = this.cache.epoch;
      const sentAt = Date.now();
      try {
        const r = await this.redis.gwLease(this.leaseKey, this.markKey, held ? 'renew' : 'acquire', this.me, ttl, this.channel);
        // Given back or lost (connection) while the answer was on its way: that decision stands.
        if (epoch !== this.cache.epoch) return;
        if (r === 1) {
          if (!held) this.heldSince = sentAt;
          this.cache.granted(sentAt);
        } else if (r === -1) await this.giveBack();
        else if (held) this.lost();
      } catch {
        if (held) this.lost();
      }
    })();
    this.leaseOp = p.finally(() => {
      this.leaseOp = undefined;
      this.scheduleLease(this.cache.held ? Math.floor(this.cache.opts.ttlMs / 3) : this.leaseBackoffMs);
    });
    return this.leaseOp;
  }

  /** The lease went away: forget the cache, and wait longer before the next try if it was held briefly. */
  private lost(): void {
    if (this.cache.held) {
      this.leaseBackoffMs = Date.now() - this.heldSince > 10_000 ? LEASE_RETRY_MIN_MS : Math.min(this.leaseBackoffMs * 2, LEASE_RETRY_MAX_MS);
    }
    this.cache.lose();
  }

  /** Another gateway wants to write: stop answering from memory, then delete the lease key. */
  private async giveBack(): Promise<void> {
    this.lost();
    try {
      await this.redis.gwLease(this.leaseKey, this.markKey, 'release', this.me, 0, this.channel);
    } catch {
      // It expires by itself.
    }
    if (!this.leaseOp) this.scheduleLease(this.leaseBackoffMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.leaseOn = false;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.cache.held) {
      // Give it back now, so other gateways need not wait for the TTL.
      this.cache.lose();
      if (this.redis.status === 'ready') await this.redis.gwLease(this.leaseKey, this.markKey, 'release', this.me, 0, this.channel).catch(() => undefined);
    }
    this.sub?.disconnect();
    this.closed = true;
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
      else this.redis.disconnect();
    } catch {
      this.redis.disconnect();
    }
  }
}
