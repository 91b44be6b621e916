import { describe, expect, it } from '@jest/globals';
import { ApiException, V1MicroTime, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { pino } from 'pino';
import {
  LeaderElector,
  defaultIdentity,
  type Clock,
  type LeaderElectorOptions,
  type LeaseApi,
} from '../../../src/runtime/leaderElection.js';

const NS = 'ops';
const NAME = 'op-leader';
const LEASE_MS = 15_000;
const RENEW_MS = 10_000;
const RETRY_MS = 2_000;

/** Manual time: `now()` is monotonic, `date()` the wall clock (which may be set anywhere). */
class FakeClock implements Clock {
  t = 0;
  wallOffset = Date.parse('2030-01-01T00:00:00Z');
  private sleepers: { at: number; wake: () => void }[] = [];

  now(): number {
    return this.t;
  }

  date(): Date {
    return new Date(this.wallOffset + this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = { at: this.t + ms, wake: () => resolve() };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      });
    });
  }

  /** Moves time forward, waking sleepers in order and letting the woken code run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.wake();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every queued promise callback run (setImmediate is not faked here). */
const settle = () => new Promise<void>((r) => setImmediate(r));

const apiError = (code: number) => new ApiException(code, `HTTP ${code}`, `{"code":${code}}`, {});

/** An apiserver's Lease endpoint in memory: resourceVersions, 404, 409 on a stale write. */
class FakeLeases implements LeaseApi {
  lease: V1Lease | undefined;
  calls: { op: 'read' | 'create' | 'replace'; at: number }[] = [];
  /** Set to make every call fail with this status, or hang. */
  failWith: number | 'hang' | undefined;
  /** Runs between a read and the next replace: another writer racing us. */
  beforeReplace: (() => void) | undefined;
  private rv = 0;

  constructor(private readonly clock: FakeClock) {}

  /** Writes `spec` as another replica would (no optimistic check). */
  put(spec: V1LeaseSpec): void {
    this.lease = {
      metadata: { name: NAME, namespace: NS, resourceVersion: String(++this.rv) },
      spec: JSON.parse(JSON.stringify(spec)) as V1LeaseSpec,
    };
  }

  get spec(): V1LeaseSpec {
    return this.lease?.spec ?? {};
  }

  private async call(op: 'read' | 'create' | 'replace'): Promise<void> {
    this.calls.push({ op, at: this.clock.now() });
    const fail = this.failWith;
    if (fail === 'hang') await new Promise(() => undefined);
    else if (fail !== undefined) throw apiError(fail);
  }

  // JSON round trips: what the apiserver stores and returns, never our objects.
  private copy(): V1Lease {
    return JSON.parse(JSON.stringify(this.lease)) as V1Lease;
  }

  async readNamespacedLease(): Promise<V1Lease> {
    await this.call('read');
    if (!this.lease) throw apiError(404);
    return this.copy();
  }

  async createNamespacedLease({ body }: { body: V1Lease }): Promise<V1Lease> {
    await this.call('create');
    if (this.lease) throw apiError(409);
    this.put(body.spec ?? {});
    return this.copy();
  }

  async replaceNamespacedLease({ body }: { body: V1Lease }): Promise<V1Lease> {
    await this.call('replace');
    this.beforeReplace?.();
    this.beforeReplace = undefined;
    if (!this.lease) throw apiError(404);
    if (body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw apiError(409);
    this.put(body.spec ?? {});
    return this.copy();
  }
}

function setup(overrides: Partial<LeaderElectorOptions> = {}, clock = new FakeClock()) {
  const api = new FakeLeases(clock);
  const events: string[] = [];
  const make = (identity: string, more: Partial<LeaderElectorOptions> = {}) =>
    new LeaderElector({
      api,
      namespace: NS,
      name: NAME,
      identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: () => events.push(`${identity} started`),
      onStoppedLeading: () => events.push(`${identity} stopped`),
      log: pino({ level: 'silent' }),
      clock,
      random: () => 0,
      ...overrides,
      ...more,
    });
  return { clock, api, events, make, me: make('me') };
}

const other = (clock: FakeClock, more: V1LeaseSpec = {}): V1LeaseSpec => ({
  holderIdentity: 'other',
  leaseDurationSeconds: LEASE_MS / 1000,
  acquireTime: new V1MicroTime(clock.date().getTime()),
  renewTime: new V1MicroTime(clock.date().getTime()),
  leaseTransitions: 3,
  ...more,
});

describe('tryAcquireOrRenew', () => {
  it('creates a missing Lease and holds it', async () => {
    const { api, me, clock } = setup();
    expect(await me.tryAcquireOrRenew()).toBe(true);
    const at = clock.date().toISOString().replace('Z', '000Z'); // MicroTime: microseconds
    expect(api.spec).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: at,
      renewTime: at,
      leaseTransitions: 0,
    });
    expect(api.calls.map((c) => c.op)).toEqual(['read', 'create']);
  });

  it('takes a released Lease at once and counts the transition', async () => {
    const { api, me } = setup();
    api.put({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 });
    expect(await me.tryAcquireOrRenew()).toBe(true);
    expect(api.spec).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 5 });
  });

  it('renews with one write at the resourceVersion it last wrote, keeping acquireTime and transitions', async () => {
    const { api, me, clock } = setup();
    await me.tryAcquireOrRenew();
    const acquired = api.spec;
    const rv = api.lease?.metadata?.resourceVersion;
    await clock.advance(RETRY_MS);
    api.calls = [];
    expect(await me.tryAcquireOrRenew()).toBe(true);
    expect(api.calls.map((c) => c.op)).toEqual(['replace']);
    expect(api.lease?.metadata?.resourceVersion).not.toBe(rv);
    expect(api.spec).toMatchObject({
      holderIdentity: 'me',
      acquireTime: acquired.acquireTime,
      leaseTransitions: 0,
      renewTime: clock.date().toISOString().replace('Z', '000Z'),
    });
  });

  it('does not steal a Lease that keeps being renewed, however long it waits', async () => {
    const { api, me, clock } = setup();
    api.put(other(clock));
    for (let i = 0; i < 20; i++) {
      expect(await me.tryAcquireOrRenew()).toBe(false);
      await clock.advance(RETRY_MS);
      api.put(other(clock)); // the holder renews
    }
    expect(api.spec.holderIdentity).toBe('other');
    expect(api.calls.some((c) => c.op === 'replace')).toBe(false);
  });

  it('takes over once the record has not changed for leaseDurationSeconds by its own clock', async () => {
    const { api, me, clock } = setup();
    api.put(other(clock));
    await clock.advance(5_000); // the record is already 5 s old when first seen: that does not count
    expect(await me.tryAcquireOrRenew()).toBe(false);
    await clock.advance(LEASE_MS - 1);
    expect(await me.tryAcquireOrRenew()).toBe(false);
    await clock.advance(1);
    expect(await me.tryAcquireOrRenew()).toBe(true);
    expect(api.spec).toMatchObject({
      holderIdentity: 'me',
      leaseTransitions: 4,
      acquireTime: clock.date().toISOString().replace('Z', '000Z'),
    });
  });

  it("waits the holder's leaseDurationSeconds, not its own", async () => {
    const { api, me, clock } = setup();
    api.put(other(clock, { leaseDurationSeconds: 40 }));
    expect(await me.tryAcquireOrRenew()).toBe(false);
    await clock.advance(LEASE_MS);
    expect(await me.tryAcquireOrRenew()).toBe(false);
    await clock.advance(40_000 - LEASE_MS);
    expect(await me.tryAcquireOrRenew()).toBe(true);
  });

  it('ignores clock skew: a renewTime far in the future does not protect a dead holder', async () => {
    const { api, me, clock } = setup();
    api.put(other(clock, { renewTime: new V1MicroTime('2100-01-01T00:00:00Z') }));
    expect(await me.tryAcquireOrRenew()).toBe(false);
    await clock.advance(LEASE_MS);
    expect(await me.tryAcquireOrRenew()).toBe(true);
  });

  it('ignores clock skew: a renewTime far in the past does not make a live holder look expired', async () => {
    const { api, me, clock } = setup();
    clock.wallOffset = Date.parse('2100-01-01T00:00:00Z'); // our wall clock runs far ahead
    for (let i = 0; i < 10; i++) {
      // the holder's clock is decades behind, but it renews
      api.put(other(clock, { renewTime: new V1MicroTime(`1990-01-01T00:00:0${i}Z`) }));
      expect(await me.tryAcquireOrRenew()).toBe(false);
      await clock.advance(RETRY_MS);
    }
    expect(api.spec.holderIdentity).toBe('other');
  });

  it('a conflict on the write (another candidate won the race) is not leadership', async () => {
    const { api, me, clock } = setup();
    api.put({ holderIdentity: '', leaseTransitions: 1 });
    api.beforeReplace = () => api.put(other(clock, { leaseTransitions: 2 }));
    expect(await me.tryAcquireOrRenew()).toBe(false);
    expect(api.spec.holderIdentity).toBe('other');
    expect(me.isLeader).toBe(false);
    // And the new holder's record counts as a fresh change: no takeover before it expires.
    await clock.advance(LEASE_MS - 1);
    expect(await me.tryAcquireOrRenew()).toBe(false);
  });

  it('a conflict on a fast-path renewal falls back to a read and renews if still the holder', async () => {
    const { api, me, clock } = setup();
    await me.tryAcquireOrRenew();
    api.put({ ...api.spec }); // someone touched the object (a label, say): new resourceVersion
    await clock.advance(RETRY_MS);
    api.calls = [];
    expect(await me.tryAcquireOrRenew()).toBe(true);
    expect(api.calls.map((c) => c.op)).toEqual(['replace', 'read', 'replace']);
  });

  it('a failed read is not leadership', async () => {
    const { api, me } = setup();
    api.failWith = 500;
    expect(await me.tryAcquireOrRenew()).toBe(false);
  });

  it('an identity is the Pod name (or hostname) with a random suffix', () => {
    expect(defaultIdentity('op-7d9f-abcde')).toMatch(/^op-7d9f-abcde_[0-9a-f-]{36}$/);
    expect(defaultIdentity('p')).not.toBe(defaultIdentity('p'));
    expect(defaultIdentity('')).toMatch(/^.+_[0-9a-f-]{36}$/);
  });
});

describe('LeaderElector run loop', () => {
  it('becomes leader once, then renews every retryPeriod', async () => {
    const { api, me, clock, events } = setup();
    me.start();
    await clock.advance(0);
    expect(me.isLeader).toBe(true);
    expect(events).toEqual(['me started']);
    api.calls = [];
    await clock.advance(5 * RETRY_MS);
    expect(api.calls).toEqual([2, 4, 6, 8, 10].map((s) => ({ op: 'replace', at: s * 1000 })));
    expect(events).toEqual(['me started']);
    await me.stop();
  });

  it('retries a held Lease every retryPeriod plus up to 1.2 × retryPeriod of jitter', async () => {
    for (const [random, gap] of [
      [0, RETRY_MS],
      [0.5, RETRY_MS * 1.6],
      [1, RETRY_MS * 2.2],
    ] as const) {
      const { api, clock, make } = setup({ random: () => random });
      const candidate = make('candidate');
      api.put(other(clock));
      candidate.start();
      await clock.advance(3 * gap);
      expect(api.calls.map((c) => c.at)).toEqual([0, gap, 2 * gap, 3 * gap]);
      await candidate.stop();
    }
  });

  it('loses leadership when renewals fail until renewDeadline, and says so once', async () => {
    const { api, me, clock, events } = setup();
    me.start();
    await clock.advance(0);
    api.failWith = 500; // the apiserver becomes unreachable
    // The renewal round starts at RETRY_MS; it may keep failing until RETRY_MS + RENEW_MS.
    await clock.advance(RETRY_MS + RENEW_MS - 1);
    expect(me.isLeader).toBe(true);
    expect(events).toEqual(['me started']);
    await clock.advance(1);
    expect(me.isLeader).toBe(false);
    expect(events).toEqual(['me started', 'me stopped']);
    // Before the Lease expires for the others (15 s after the last renewal at 0).
    expect(clock.now()).toBeLessThan(LEASE_MS);
    api.failWith = undefined;
    api.calls = [];
    await clock.advance(60_000);
    expect(api.calls).toEqual([]); // it does not campaign again; the process exits
    expect(events).toEqual(['me started', 'me stopped']);
  });

  it('a renewal that hangs counts as failed at the renew deadline', async () => {
    const { api, me, clock, events } = setup();
    me.start();
    await clock.advance(0);
    api.failWith = 'hang';
    await clock.advance(RETRY_MS + RENEW_MS - 1);
    expect(events).toEqual(['me started']);
    await clock.advance(1);
    expect(events).toEqual(['me started', 'me stopped']);
  });

  it('a renewal that recovers before the deadline keeps leadership', async () => {
    const { api, me, clock, events } = setup();
    me.start();
    await clock.advance(0);
    api.failWith = 503;
    await clock.advance(RETRY_MS + RENEW_MS - 3000); // attempts at 2, 4, 6, 8 s fail; 10 s works
    api.failWith = undefined;
    await clock.advance(60_000);
    expect(me.isLeader).toBe(true);
    expect(events).toEqual(['me started']);
    await me.stop();
  });

  it('loses leadership at once when it sees another holder', async () => {
    const { api, me, clock, events } = setup();
    me.start();
    await clock.advance(0);
    api.put(other(clock)); // e.g. after a long pause, someone else took the expired Lease
    await clock.advance(RETRY_MS);
    expect(events).toEqual(['me started', 'me stopped']);
    expect(me.observedHolder).toBe('other');
  });

  it('stop() releases the Lease, and a waiting replica takes it at its next retry', async () => {
    const { api, clock, events, make } = setup();
    const a = make('a');
    const b = make('b');
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(30_000);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    const transitions = api.spec.leaseTransitions;

    await a.stop();
    expect(api.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    const releasedAt = clock.now();
    await clock.advance(RETRY_MS);
    expect(b.isLeader).toBe(true);
    expect(api.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: (transitions ?? 0) + 1 });
    expect(clock.now() - releasedAt).toBeLessThanOrEqual(RETRY_MS);
    expect(events).toEqual(['a started', 'b started']); // a stopped on purpose: no lost-leadership call
    await b.stop();
  });

  it('stop() of a replica that is not leading writes nothing', async () => {
    const { api, clock, make } = setup();
    api.put(other(clock));
    const standby = make('standby');
    standby.start();
    await clock.advance(5_000);
    api.calls = [];
    await standby.stop();
    expect(api.calls).toEqual([]);
    expect(api.spec.holderIdentity).toBe('other');
  });

  it('stop() does not release a Lease somebody else took meanwhile', async () => {
    const { api, me, clock } = setup();
    me.start();
    await clock.advance(0);
    api.put(other(clock));
    await me.stop();
    expect(api.spec.holderIdentity).toBe('other');
  });

  it('two replicas: exactly one leads at any time, and the other takes over when it dies', async () => {
    const { api, clock, events, make } = setup({ random: Math.random });
    const a = make('a');
    const b = make('b');
    a.start();
    b.start();
    for (let i = 0; i < 50; i++) {
      await clock.advance(500);
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    }
    const [leader, standby] = a.isLeader ? [a, b] : [b, a];
    // The leader's process freezes (SIGKILL): simulate by cutting it off from the apiserver only.
    const frozen = leader.identity;
    const realReplace = api.replaceNamespacedLease.bind(api);
    api.replaceNamespacedLease = async (p) => {
      if (p.body.spec?.holderIdentity === frozen) return new Promise<V1Lease>(() => undefined);
      return realReplace(p);
    };
    const killedAt = clock.now();
    await clock.advance(LEASE_MS + 3 * RETRY_MS * 2.2);
    expect(standby.isLeader).toBe(true);
    expect(api.spec.holderIdentity).toBe(standby.identity);
    // Leadership moved after the lease duration, not before.
    const takeover = api.calls.find((c) => c.op === 'replace' && c.at > killedAt)?.at ?? 0;
    expect(takeover - killedAt).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS);
    expect(events.filter((e) => e.endsWith('started'))).toHaveLength(2);
    await standby.stop();
  });
});
