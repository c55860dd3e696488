/**
 * One volume's distributed data layer, assembled: the stored brick layout (layout.ts), the replica set
 * that the Volume uses as its Brick (replica-set.ts), the healer (heal.ts) and the rebalancer
 * (rebalance.ts). gateway/ opens one per volume that lists bricks, and serves `volume` and `heal`
 * commands from it.
 *
 * Layout changes are made by the gateway that is asked (add-brick/remove-brick) and it runs the
 * rebalance; one change at a time (a second one while a rebalance runs is refused with DELAY). A gateway
 * that starts with a stored layout in the middle of a rebalance resumes it. Several gateways on one volume
 * share the layout through the metadata store, but the moves of a rebalance are coordinated inside the
 * gateway running it: change the brick set while one gateway serves the volume (the others pick up the
 * new layout when they start). On a shared store this is enforced: gateways register in the store
 * (gateway-registry.ts) and a change is refused while another one is registered, unless forced.
 */
import type { Kv } from '../meta/kv';
import { CoreError, Errc } from '../vfs/errors';
import type { Brick } from './brick';
import { listGateways, registerGateway, unregisterGateway } from './gateway-registry';
import { Healer, type HealStatus } from './heal';
import { ensureLayout, loadLayout, updateLayout, type VolumeLayout } from './layout';
import { checkBrickId } from './placement';
import { Rebalancer, type RebalanceStatus } from './rebalance';
import { ReplicaSet, type BrickSpec } from './replica-set';

interface MiniLog {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

export interface BrickClusterOptions {
  kv: Kv;
  /** Used only if the store has no layout yet (first start, or `gateway volume create`). */
  replica: number;
  bricks: BrickSpec[];
  connect: (spec: BrickSpec) => Brick | Promise<Brick>;
  healBytesPerSecond?: number;
  rebalanceBytesPerSecond?: number;
  probeIntervalMs?: number;
  healIntervalMs?: number;
  /** Background re-read of the heal journal (for the healer's backlog; reads never wait for it). */
  journalRefreshMs?: number;
  /** This gateway in the volume's gateway registry (shared stores only; gateway-registry.ts). */
  gatewayId?: string;
  log?: MiniLog;
}

export interface BrickStatus {
  id: string;
  address: string;
  up: boolean;
  downSince?: string;
  lastError?: string;
  /** In the current brick set (false: leaving, during a remove-brick rebalance). */
  member: boolean;
  healBacklog: number;
  /** A brick node: a connection to it is up right now. */
  connected?: boolean;
  /** A brick node: its instance (boot id) from the last handshake, and how often it came back as a new one. */
  instance?: string;
  lostWriteEvents?: number;
}

export interface ClusterStatus {
  replica: number;
  quorum: number;
  epoch: number;
  bricks: BrickStatus[];
  heal: HealStatus;
  rebalance: RebalanceStatus;
  writes: { degraded: number; failed: number; journalMarks: number; lostWriteEvents: number; lostWriteMarks: number };
  reads: { failovers: number; corrupt: number; journalStoreChecks: number };
}

export class BrickCluster {
  private constructor(
    private readonly kv: Kv,
    readonly set: ReplicaSet,
    readonly healer: Healer,
    readonly rebalancer: Rebalancer,
    private layout: VolumeLayout,
  ) {}

  static async open(opts: BrickClusterOptions): Promise<BrickCluster> {
    const stored = await loadLayout(opts.kv);
    const layout = stored ?? (await ensureLayout(opts.kv, { replica: opts.replica, bricks: opts.bricks }));
    if (stored && opts.bricks.length && !sameBricks(stored.bricks, opts.bricks)) {
      opts.log?.warn({ stored: stored.bricks, config: opts.bricks }, 'the stored brick layout differs from the config: using the stored one (change it with gateway volume add-brick/remove-brick)');
    }
    const set = await ReplicaSet.open({
      kv: opts.kv,
      replica: layout.replica,
      bricks: layout.bricks,
      ...(layout.from ? { from: layout.from } : {}),
      connect: opts.connect,
      ...(opts.probeIntervalMs !== undefined ? { probeIntervalMs: opts.probeIntervalMs } : {}),
      ...(opts.journalRefreshMs !== undefined ? { journalRefreshMs: opts.journalRefreshMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    const healer = new Healer(set, {
      ...(opts.healBytesPerSecond !== undefined ? { bytesPerSecond: opts.healBytesPerSecond } : {}),
      ...(opts.healIntervalMs !== undefined ? { intervalMs: opts.healIntervalMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    let self: BrickCluster | undefined;
    const rebalancer = new Rebalancer(opts.kv, set, {
      ...(opts.rebalanceBytesPerSecond !== undefined ? { bytesPerSecond: opts.rebalanceBytesPerSecond } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      onFinish: async () => self!.finish(),
    });
    self = new BrickCluster(opts.kv, set, healer, rebalancer, layout);
    if (set.journal.shared && opts.gatewayId) {
      await registerGateway(opts.kv, opts.gatewayId);
      self.gatewayId = opts.gatewayId;
    }
    if (layout.from) void rebalancer.start();
    if (set.journal.size) void healer.kick();
    return self;
  }

  /** Set while this gateway is in the store's gateway registry. */
  private gatewayId: string | undefined;

  get currentLayout(): VolumeLayout {
    return this.layout;
  }

  private async finish(): Promise<void> {
    this.layout = await updateLayout(this.kv, this.layout.epoch, (l) => ({ replica: l.replica, bricks: l.bricks }));
  }

  private refuseWhileRebalancing(): void {
    if (this.layout.from || this.rebalancer.running) throw new CoreError(Errc.DELAY, 'a rebalance is running; wait for it to finish');
  }

  /**
   * A brick-set change is safe only while this gateway alone serves the volume (see the registry's
   * header): refused if the registry lists another, unless forced.
   */
  private async refuseWhileOthersServe(force: boolean | undefined): Promise<void> {
    if (force || !this.set.journal.shared) return;
    const others = (await listGateways(this.kv)).filter((g) => g.id !== this.gatewayId);
    if (!others.length) return;
    const list = others.map((g) => `${g.id} (pid ${g.pid}, since ${g.since})`).join(', ');
    throw new CoreError(Errc.DELAY, `other gateways serve this volume: ${list}. A brick change is only safe while one gateway serves the volume: stop the others (a gateway that crashed leaves its entry: then use --force)`);
  }

  /** Adds a brick and starts the rebalance onto it. Resolves once the layout is stored and the move started. */
  async addBrick(spec: BrickSpec, opts: { force?: boolean } = {}): Promise<VolumeLayout> {
    checkBrickId(spec.id);
    this.refuseWhileRebalancing();
    await this.refuseWhileOthersServe(opts.force);
    if (this.layout.bricks.some((b) => b.id === spec.id)) throw new CoreError(Errc.EXIST, `brick ${spec.id} is already in the volume`);
    if (this.layout.bricks.some((b) => b.address === spec.address)) throw new CoreError(Errc.EXIST, `a brick at ${spec.address} is already in the volume`);
    return this.change((l) => ({ replica: l.replica, bricks: [...l.bricks, spec], from: l.bricks.map((b) => b.id) }));
  }

  /** Removes a brick: its objects move to the others, then it leaves the volume. */
  async removeBrick(id: string, opts: { force?: boolean } = {}): Promise<VolumeLayout> {
    this.refuseWhileRebalancing();
    await this.refuseWhileOthersServe(opts.force);
    if (!this.layout.bricks.some((b) => b.id === id)) throw new CoreError(Errc.NOENT, `no brick ${id} in the volume`);
    if (this.layout.bricks.length - 1 < this.layout.replica) throw new CoreError(Errc.INVAL, `replica ${this.layout.replica} needs at least ${this.layout.replica} bricks`);
    return this.change((l) => ({ replica: l.replica, bricks: l.bricks.filter((b) => b.id !== id), from: l.bricks.map((b) => b.id) }));
  }

  private async change(fn: (l: VolumeLayout) => Omit<VolumeLayout, 'epoch'>): Promise<VolumeLayout> {
    const next = await updateLayout(this.kv, this.layout.epoch, fn);
    await this.set.setLayout(next.bricks, next.from);
    this.layout = next;
    void this.rebalancer.start();
    return next;
  }

  status(): ClusterStatus {
    const backlog = this.set.journal.countByBrick();
    const inSet = new Set(this.layout.bricks.map((b) => b.id));
    const s = this.set.stats;
    return {
      replica: this.set.replica,
      quorum: this.set.quorum,
      epoch: this.layout.epoch,
      bricks: this.set.memberList().map((m) => ({
        id: m.id,
        address: m.address,
        up: m.up,
        ...(m.downSince ? { downSince: new Date(m.downSince).toISOString() } : {}),
        ...(m.lastError && !m.up ? { lastError: m.lastError } : {}),
        member: inSet.has(m.id),
        healBacklog: backlog.get(m.id) ?? 0,
        ...nodeState(m.brick),
      })),
      heal: this.healer.status(),
      rebalance: this.rebalancer.status(),
      writes: { degraded: s.degradedWrites, failed: s.failedWrites, journalMarks: s.journalMarks, lostWriteEvents: s.lostWriteEvents, lostWriteMarks: s.lostWriteMarks },
      reads: { failovers: s.readFailovers, corrupt: s.corruptReads, journalStoreChecks: this.set.journal.storeChecks },
    };
  }

  /** Stops background work; the replica set (the Volume's brick) is closed by the Volume. */
  async stop(): Promise<void> {
    await this.rebalancer.stop();
    await this.healer.stop();
    if (this.gatewayId) await unregisterGateway(this.kv, this.gatewayId).catch(() => undefined);
  }
}

/** Connection state of a brick node client (RemoteBrick), if the brick is one. */
function nodeState(b: Brick): Pick<BrickStatus, 'connected' | 'instance' | 'lostWriteEvents'> {
  const r = b as Partial<{ healthy: boolean; instance: string; lostWriteEvents: number }>;
  if (typeof r.healthy !== 'boolean') return {};
  return { connected: r.healthy, ...(r.instance !== undefined ? { instance: r.instance } : {}), ...(typeof r.lostWriteEvents === 'number' ? { lostWriteEvents: r.lostWriteEvents } : {}) };
}

function sameBricks(a: BrickSpec[], b: BrickSpec[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => y.id === x.id && y.address === x.address));
}
