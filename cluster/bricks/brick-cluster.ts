/**
 * One volume's distributed data layer, assembled: the stored brick layout (layout.ts), the replica set
 * that the Volume uses as its Brick (replica-set.ts), the healer (heal.ts) and the rebalancer
 * (rebalance.ts). gateway/ opens one per volume that lists bricks, and serves `volume` and `heal`
 * commands from it.
 *
 * Layout changes are made by the gateway that is asked (add-brick/remove-brick) and it runs the
 * rebalance; one change at a time (a second one while a rebalance runs is refused with DELAY). A gateway
 * that starts with a stored layout in the middle of a rebalance resumes it (on a shared store: if it is
 * the one that ran it, `mover`).
 *
 * Several gateways on one shared store (Redis): each registers in the store (gateway-registry.ts) and
 * watches the layout record (a point read every `layoutPollMs`). On a new epoch it switches its
 * placement, waits for the data operations it started under the old one, and acknowledges the epoch in
 * its registry record. The mover copies nothing before every registered gateway has acknowledged the
 * rebalance's layout; objects move under the store's per-object move state (move-state.ts); the end of
 * the rebalance is a layout that keeps the old brick set as `retired`, and the old copies are deleted
 * only once every gateway has acknowledged it; a last epoch drops `retired`. `force` on a change skips
 * waiting for the other gateways' acknowledgements: only for a registered gateway known to be gone.
 */
import type { Kv } from '../meta/kv';
import { CoreError, Errc } from '../vfs/errors';
import type { Brick } from './brick';
import { ackEpoch, listGateways, registerGateway, unregisterGateway } from './gateway-registry';
import { Healer, type HealStatus } from './heal';
import { ensureLayout, loadLayout, updateLayout, type VolumeLayout } from './layout';
import { checkBrickId } from './placement';
import { MoveStore } from './move-state';
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
  /** Shared stores: how often the layout record is read for changes made through other gateways. Default 1000. */
  layoutPollMs?: number;
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
  /** Shared stores: the gateway running the current rebalance, and other gateways it waits for. */
  mover?: string;
  waitingFor?: string[];
}

/** Thrown inside the transaction that would end a rebalance while an object is left at its old placement. */
class ObjectsLeft extends Error {}

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
    set.layoutEpoch = layout.epoch;
    const rebalancer = new Rebalancer(opts.kv, set, {
      ...(opts.rebalanceBytesPerSecond !== undefined ? { bytesPerSecond: opts.rebalanceBytesPerSecond } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      onFinish: async () => self!.finish(),
      ...(set.moves ? { waitForGateways: (epoch: number) => self!.waitForGateways(epoch) } : {}),
    });
    self = new BrickCluster(opts.kv, set, healer, rebalancer, layout);
    self.log = opts.log;
    set.retiring = !!layout.retired;
    if (set.moves) {
      if (opts.gatewayId) {
        const seen = await registerGateway(opts.kv, opts.gatewayId);
        self.gatewayId = opts.gatewayId;
        self.acked = seen;
        // A change stored between loading the layout and registering: use it before serving anything.
        if (seen !== layout.epoch) await self.poll();
      }
      self.watch = setInterval(() => void self!.poll().catch((e: unknown) => opts.log?.warn({ err: String(e) }, 'layout check failed')), opts.layoutPollMs ?? 1000);
      self.watch.unref();
    }
    const l = self.layout;
    const mine = !set.moves || !l.mover || l.mover === self.gatewayId;
    if (l.from && mine) void rebalancer.start();
    else if (l.retired && set.moves && mine) void self.cleanUp(l);
    if (set.journal.size) void healer.kick();
    return self;
  }

  /** Set while this gateway is in the store's gateway registry. */
  private gatewayId: string | undefined;
  private log: MiniLog | undefined;
  private watch: NodeJS.Timeout | undefined;
  /** A layout change or switch of this gateway is under way (the watcher leaves it alone meanwhile). */
  private busy: Promise<unknown> = Promise.resolve();
  /** The last change was forced: do not wait for other gateways' acknowledgements. */
  private forced = false;
  private waitingFor: string[] = [];

  /** Runs `fn` after any change or switch under way (one at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.busy.then(fn, fn);
    this.busy = p.catch(() => undefined);
    return p;
  }

  /**
   * Shared stores: reads the layout record; a newer epoch (a change made through another gateway) is
   * switched to: new placement, wait for this gateway's operations under the old one, acknowledge.
   */
  private poll(): Promise<void> {
    return this.serial(async () => {
      const l = await loadLayout(this.kv);
      if (!l || l.epoch <= this.layout.epoch) {
        // A switch whose acknowledgement failed (store unreachable), or a layout this gateway stored itself:
        // acknowledged (after the same drain), since a mover may be waiting for it.
        if (this.gatewayId && this.acked < this.layout.epoch) {
          const epoch = this.layout.epoch;
          await this.set.drain();
          if (this.layout.from) await this.set.countRecent();
          await this.ack(epoch);
        }
        return;
      }
      await this.set.setLayout(l.bricks, l.from, l.epoch);
      this.set.retiring = !!l.retired;
      this.layout = l;
      await this.set.drain();
      if (l.from) await this.set.countRecent();
      else await this.set.finishRebalance();
      await this.ack(l.epoch);
      this.log?.info({ epoch: l.epoch, bricks: l.bricks.map((b) => b.id), from: l.from }, 'switched to a new brick layout');
    });
  }

  /** The last epoch this gateway acknowledged in the registry. */
  private acked = 0;

  private async ack(epoch: number): Promise<void> {
    if (!this.gatewayId) return;
    await ackEpoch(this.kv, this.gatewayId, epoch);
    if (epoch > this.acked) this.acked = epoch;
  }

  /** Resolves once every other registered gateway has acknowledged layout `epoch` (or the change was forced). */
  private async waitForGateways(epoch: number): Promise<void> {
    await this.set.drain();
    await this.set.countRecent();
    await this.ack(epoch);
    for (;;) {
      if (this.stopping) throw new CoreError(Errc.IO, 'gateway stopping');
      const behind = (await listGateways(this.kv)).filter((g) => g.id !== this.gatewayId && g.epoch < epoch);
      this.waitingFor = this.forced ? [] : behind.map((g) => g.id);
      if (!this.waitingFor.length) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Shared stores, after every object moved: the old copies are deleted once every gateway has switched
   * to the layout that ended the rebalance; then a last epoch drops `retired` (and the mover).
   */
  private async cleanUp(l: VolumeLayout, rethrow = false): Promise<void> {
    try {
      await this.waitForGateways(l.epoch);
      await this.rebalancer.cleanUp(l.retired ?? []);
      await this.serial(async () => {
        this.layout = await updateLayout(this.kv, this.layout.epoch, (x) => ({ replica: x.replica, bricks: x.bricks }));
        await this.set.setLayout(this.layout.bricks, undefined, this.layout.epoch);
        this.set.retiring = false;
        await this.set.finishRebalance();
        await this.ack(this.layout.epoch);
      });
      this.forced = false;
      this.log?.info({ epoch: this.layout.epoch }, 'rebalance clean-up done');
    } catch (e) {
      this.log?.warn({ err: String(e) }, 'rebalance clean-up failed (it resumes when this gateway restarts)');
      if (rethrow) throw e; // the rebalance's status then shows it failed
    }
  }

  get currentLayout(): VolumeLayout {
    return this.layout;
  }

  private async finish(): Promise<boolean> {
    if (!this.set.moves) {
      this.layout = await updateLayout(this.kv, this.layout.epoch, (l) => ({ replica: l.replica, bricks: l.bricks }));
      return true;
    }
    // Shared store: the end is stored only if no object is left at its old placement (checked in the
    // same transaction, so a change another gateway counts meanwhile either is seen or sees the end).
    let ended: VolumeLayout;
    try {
      ended = await this.serial(async () => {
        const l = await updateLayout(
          this.kv,
          this.layout.epoch,
          (x) => ({ replica: x.replica, bricks: x.bricks, ...(x.mover ? { mover: x.mover } : {}), retired: x.from ?? [] }),
          async (tx) => {
            if (!(await MoveStore.noneLeftIn(tx))) throw new ObjectsLeft();
          },
        );
        await this.set.setLayout(l.bricks, undefined, l.epoch);
        this.set.retiring = true;
        this.layout = l;
        return l;
      });
    } catch (e) {
      if (e instanceof ObjectsLeft) return false;
      throw e;
    }
    await this.cleanUp(ended, true);
    return true;
  }

  private refuseWhileRebalancing(): void {
    if (this.layout.from || this.layout.retired || this.rebalancer.running) throw new CoreError(Errc.DELAY, 'a rebalance is running; wait for it to finish');
  }

  /**
   * The same change repeated with force while this gateway's rebalance waits for other gateways (one
   * that crashed and left its registry record): stop waiting for them.
   */
  private stopWaiting(sameChange: boolean): boolean {
    if (!sameChange || !this.waitingFor.length) return false;
    this.log?.warn({ gateways: this.waitingFor }, 'forced: no longer waiting for these gateways to switch layouts');
    this.forced = true;
    return true;
  }

  /** Adds a brick and starts the rebalance onto it. Resolves once the layout is stored and the move started. */
  async addBrick(spec: BrickSpec, opts: { force?: boolean } = {}): Promise<VolumeLayout> {
    checkBrickId(spec.id);
    if (opts.force && this.stopWaiting(this.layout.bricks.some((b) => b.id === spec.id))) return this.layout;
    this.refuseWhileRebalancing();
    this.forced = !!opts.force;
    if (this.layout.bricks.some((b) => b.id === spec.id)) throw new CoreError(Errc.EXIST, `brick ${spec.id} is already in the volume`);
    if (this.layout.bricks.some((b) => b.address === spec.address)) throw new CoreError(Errc.EXIST, `a brick at ${spec.address} is already in the volume`);
    return this.change((l) => ({ replica: l.replica, bricks: [...l.bricks, spec], from: l.bricks.map((b) => b.id) }));
  }

  /** Removes a brick: its objects move to the others, then it leaves the volume. */
  async removeBrick(id: string, opts: { force?: boolean } = {}): Promise<VolumeLayout> {
    if (opts.force && this.stopWaiting(!this.layout.bricks.some((b) => b.id === id))) return this.layout;
    this.refuseWhileRebalancing();
    this.forced = !!opts.force;
    if (!this.layout.bricks.some((b) => b.id === id)) throw new CoreError(Errc.NOENT, `no brick ${id} in the volume`);
    if (this.layout.bricks.length - 1 < this.layout.replica) throw new CoreError(Errc.INVAL, `replica ${this.layout.replica} needs at least ${this.layout.replica} bricks`);
    return this.change((l) => ({ replica: l.replica, bricks: l.bricks.filter((b) => b.id !== id), from: l.bricks.map((b) => b.id) }));
  }

  private async change(fn: (l: VolumeLayout) => Omit<VolumeLayout, 'epoch'>): Promise<VolumeLayout> {
    const next = await this.serial(async () => {
      const mover = this.set.moves ? this.gatewayId : undefined;
      // Shared store: a clean-up left by an earlier rebalance that did not finish would confuse this one.
      if (this.set.moves && (await this.set.moves.any())) throw new CoreError(Errc.DELAY, 'the store still holds move records of an earlier rebalance (its gateway resumes the clean-up when it restarts)');
      const l = await updateLayout(this.kv, this.layout.epoch, (x) => ({ ...fn(x), ...(mover ? { mover } : {}) }));
      await this.set.setLayout(l.bricks, l.from, l.epoch);
      this.layout = l;
      return l;
    });
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
      ...(this.layout.mover ? { mover: this.layout.mover } : {}),
      ...(this.waitingFor.length ? { waitingFor: this.waitingFor } : {}),
    };
  }

  /** Stops background work; the replica set (the Volume's brick) is closed by the Volume. */
  private stopping = false;

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.watch) clearInterval(this.watch);
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
