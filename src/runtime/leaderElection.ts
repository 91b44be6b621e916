// Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics
// (k8s.io/client-go/tools/leaderelection), so that of several replicas only one reconciles:
//   - A candidate reads the Lease (creating it when missing) and takes it when it is free, or
//     when the record has not changed for leaseDurationSeconds *as observed by the candidate's
//     own monotonic clock* since it last saw the record change. renewTime is never compared with
//     the local wall clock, so clock skew between nodes cannot cause a steal.
//   - Every write is an update at the resourceVersion read (409 Conflict = somebody else won).
//   - Not leading, it retries every retryPeriod plus up to 1.2 × retryPeriod of jitter.
//   - Leading, it renews every retryPeriod; when renewals keep failing until renewDeadline has
//     passed (or another holder is seen), leadership is lost and onStoppedLeading is called.
//   - stop() releases a Lease it still holds (empty holder, leaseDurationSeconds 1), so another
//     replica takes over at its next retry instead of waiting for the lease to expire.
import { V1MicroTime, type CoordinationV1Api, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isConflict, isNotFound, kubeMessageOf } from './kubeErrors.js';

export const JITTER_FACTOR = 1.2;

export type LeaseApi = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export interface Clock {
  /** Monotonic milliseconds; only differences are used. */
  now(): number;
  /** Wall-clock time, only written into the Lease (acquireTime, renewTime) for humans. */
  date(): Date;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      signal?.addEventListener('abort', finish, { once: true });
    }),
};

/** client-go's identity: the Pod name (or hostname) and a random suffix, unique per process. */
export function defaultIdentity(podName = process.env.POD_NAME): string {
  return `${podName || hostname()}_${randomUUID()}`;
}

export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Called once, when this process becomes the leader. */
  onStartedLeading: () => void;
  /** Called once, when leadership is lost; the caller must stop its work at once. Not called
   * after stop(). */
  onStoppedLeading: () => void;
  log: Logger;
  clock?: Clock;
  random?: () => number;
}

export class LeaderElector {
  /** The last Lease read or written: its resourceVersion makes the next write optimistic. */
  private lease: V1Lease | undefined;
  /** The record as last seen, and when (monotonic) it was last seen to change. */
  private observed: { spec: V1LeaseSpec; raw: string; at: number } | undefined;
  private leading = false;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private inFlight: Promise<boolean> | undefined;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly options: LeaderElectorOptions) {
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.log = options.log.child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
  }

  get identity(): string {
    return this.options.identity;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen in the Lease ('' when free or not read yet). */
  get observedHolder(): string {
    return this.observed?.spec.holderIdentity ?? '';
  }

  /** Campaigns in the background until stop() or lost leadership. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning or renewing, then releases the Lease if this process still holds it. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    // A write still in flight may yet make us the holder: let it land (or time out) first.
    if (this.inFlight) await this.within(this.inFlight, this.options.renewDeadlineMs, false);
    this.leading = false;
    if (this.lease && this.holds()) await this.release();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    this.log.info('Attempting to acquire leader lease');
    while (!(await this.attempt(renewDeadlineMs))) {
      if (this.stopped) return;
      await this.clock.sleep(retryPeriodMs * (1 + this.random() * JITTER_FACTOR), this.stopping.signal);
      if (this.stopped) return;
    }
    if (this.stopped) return; // acquired while stopping: stop() releases it
    this.leading = true;
    this.log.info('Became leader');
    this.options.onStartedLeading();
    for (;;) {
      await this.clock.sleep(retryPeriodMs, this.stopping.signal);
      if (this.stopped) return;
      const lost = await this.renew();
      if (this.stopped) return;
      if (lost) {
        this.leading = false;
        this.log.error({ reason: lost, holder: this.observedHolder }, 'Lost leadership');
        this.options.onStoppedLeading();
        return;
      }
    }
  }

  /** Renews until it succeeds or renewDeadline passes; returns why leadership was lost, if it was. */
  private async renew(): Promise<string | undefined> {
    const deadline = this.clock.now() + this.options.renewDeadlineMs;
    for (;;) {
      if (await this.attempt(deadline - this.clock.now())) return undefined;
      if (this.stopped) return undefined;
      const holder = this.observedHolder;
      if (holder && holder !== this.identity) return 'another holder took the lease';
      const left = deadline - this.clock.now();
      if (left <= 0) return `no renewal within the renew deadline (${this.options.renewDeadlineMs} ms)`;
      await this.clock.sleep(Math.min(this.options.retryPeriodMs, left), this.stopping.signal);
      if (this.clock.now() >= deadline && !this.stopped)
        return `no renewal within the renew deadline (${this.options.renewDeadlineMs} ms)`;
    }
  }

  /** One tryAcquireOrRenew that counts as failed after `timeoutMs` or on stop(). */
  private attempt(timeoutMs: number): Promise<boolean> {
    this.inFlight = this.tryAcquireOrRenew();
    return this.within(this.inFlight, timeoutMs, false, this.stopping.signal);
  }

  /** `promise`'s value, or `fallback` after `ms` or once `signal` aborts. */
  private async within<T>(promise: Promise<T>, ms: number, fallback: T, signal?: AbortSignal): Promise<T> {
    const timer = new AbortController();
    const cancel = () => timer.abort();
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await Promise.race([
        promise,
        this.clock.sleep(Math.max(0, ms), timer.signal).then(() => fallback),
      ]);
    } finally {
      signal?.removeEventListener('abort', cancel);
      cancel();
    }
  }

  /** One round of client-go's tryAcquireOrRenew: true when this process holds the Lease after it. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.options;
    const now = new V1MicroTime(this.clock.date().getTime());
    const mine: V1LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.options.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
    };

    // Fast path: the leader writes over the Lease it last wrote; a conflict falls back to a read.
    if (this.lease && this.holds() && this.valid()) {
      try {
        await this.write(this.keep(mine, this.observed?.spec));
        return true;
      } catch (err) {
        this.log.debug({ err: kubeMessageOf(err) }, 'Optimistic lease renewal failed; reading it');
      }
    }

    let current: V1Lease;
    try {
      current = await api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err: kubeMessageOf(err) }, 'Failed to read leader lease');
        return false;
      }
      try {
        const body = { metadata: { name, namespace }, spec: { ...mine, leaseTransitions: 0 } };
        this.see(await api.createNamespacedLease({ namespace, body }), true);
        return true;
      } catch (err) {
        this.failed(err, 'Failed to create leader lease');
        return false;
      }
    }

    this.see(current, false);
    const spec = current.spec ?? {};
    if (spec.holderIdentity && !this.holds() && this.valid()) {
      this.log.debug({ holder: spec.holderIdentity }, 'Leader lease is held by another and has not expired');
      return false;
    }
    const next = this.holds()
      ? this.keep(mine, spec)
      : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    try {
      await this.write(next);
      return true;
    } catch (err) {
      this.failed(err, 'Failed to update leader lease');
      return false;
    }
  }

  /** A 409 Conflict is the normal outcome of a race with another replica; the rest is worth a warning. */
  private failed(err: unknown, msg: string): void {
    if (isConflict(err)) this.log.debug({ err: kubeMessageOf(err) }, `${msg}: another replica wrote first`);
    else this.log.warn({ err: kubeMessageOf(err) }, msg);
  }

  /** Gives the Lease up; a conflict means it was no longer ours. */
  private async release(): Promise<void> {
    const now = new V1MicroTime(this.clock.date().getTime());
    const released: V1LeaseSpec = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: this.observed?.spec.leaseTransitions ?? 0,
      acquireTime: now,
      renewTime: now,
    };
    const write = this.write(released).then(
      () => undefined,
      (err: unknown) => kubeMessageOf(err),
    );
    const { renewDeadlineMs } = this.options;
    const err = await this.within(write, renewDeadlineMs, `no answer within ${renewDeadlineMs} ms`);
    if (err === undefined) this.log.info('Released leader lease');
    else this.log.warn({ err }, 'Failed to release leader lease');
  }

  private async write(spec: V1LeaseSpec): Promise<void> {
    const { api, namespace, name } = this.options;
    const body = { ...(this.lease as V1Lease), spec };
    this.see(await api.replaceNamespacedLease({ namespace, name, body }), true);
  }

  /** Records a Lease read or written; a written or changed record restarts the expiry clock. */
  private see(lease: V1Lease, written: boolean): void {
    this.lease = lease;
    const spec = lease.spec ?? {};
    const raw = JSON.stringify(spec);
    if (written || raw !== this.observed?.raw) this.observed = { spec, raw, at: this.clock.now() };
  }

  /** A renewal keeps the acquisition time and transition count. */
  private keep(mine: V1LeaseSpec, old: V1LeaseSpec | undefined): V1LeaseSpec {
    return {
      ...mine,
      ...(old?.acquireTime ? { acquireTime: old.acquireTime } : {}),
      leaseTransitions: old?.leaseTransitions ?? 0,
    };
  }

  private holds(): boolean {
    return this.observedHolder === this.identity;
  }

  /** The observed record is still valid: it changed less than its leaseDurationSeconds ago by our
   * own clock. The holder's duration counts, as in client-go (ours if the record has none). */
  private valid(): boolean {
    if (!this.observed) return false;
    const seconds = this.observed.spec.leaseDurationSeconds;
    const durationMs = seconds && seconds > 0 ? seconds * 1000 : this.options.leaseDurationMs;
    return this.clock.now() < this.observed.at + durationMs;
  }
}
