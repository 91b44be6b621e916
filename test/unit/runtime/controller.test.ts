import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import { ExponentialBackoff } from '../../../src/runtime/backoff.js';
import {
  Controller,
  done,
  requeueAfter,
  type Reconcile,
  type Result,
} from '../../../src/runtime/controller.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { deferred, flushMicrotasks, isSettled, type Deferred } from '../helpers/async.js';

const log = pino({ level: 'silent' });

function makeController(reconcile: Reconcile<string>, concurrency = 1) {
  const queue = new WorkQueue<string>({
    backoff: new ExponentialBackoff({ baseMs: 100, maxMs: 10_000, jitter: 0 }),
    now: () => Date.now(),
  });
  const controller = new Controller<string>({ name: 'test', queue, reconcile, concurrency, log });
  controller.start();
  return { queue, controller };
}

describe('Controller with a real WorkQueue', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('done() reconciles once and does not requeue', async () => {
    const calls: string[] = [];
    const { queue, controller } = makeController(async (key) => {
      calls.push(key);
      return done();
    });
    queue.add('a');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(['a']);
    await controller.stop();
  });

  it('requeueAfter(ms) reconciles the key again after exactly that delay', async () => {
    const at: number[] = [];
    const results: Result[] = [requeueAfter(1000), done()];
    const { queue, controller } = makeController(async () => {
      at.push(Date.now());
      return results.shift() ?? done();
    });
    queue.add('a');
    await flushMicrotasks();
    expect(at).toEqual([0]);
    await jest.advanceTimersByTimeAsync(999);
    expect(at).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(at).toEqual([0, 1000]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(at).toEqual([0, 1000]);
    await controller.stop();
  });

  it('retries an exception with exponential backoff and forgets the failures after a success', async () => {
    const at: number[] = [];
    let failuresLeft = 3;
    const { queue, controller } = makeController(async () => {
      at.push(Date.now());
      if (failuresLeft-- > 0) throw new Error('boom');
      return done();
    });
    queue.add('a');
    await jest.advanceTimersByTimeAsync(60_000);
    // 100, 200, 400 ms backoff between the attempts
    expect(at).toEqual([0, 100, 300, 700]);
    expect(queue.failures('a')).toBe(0);
    await controller.stop();
  });

  it('keeps growing the backoff while the reconcile keeps failing', async () => {
    const { queue, controller } = makeController(async () => {
      throw new Error('always');
    });
    queue.add('a');
    await jest.advanceTimersByTimeAsync(100 + 200 + 400 + 800 - 1);
    expect(queue.failures('a')).toBe(4); // attempts at 0, 100, 300, 700; next at 1500
    await controller.stop();
  });

  it('a requeueAfter after a success also resets the backoff', async () => {
    const results: (() => Result)[] = [
      () => {
        throw new Error('once');
      },
      () => requeueAfter(5000),
    ];
    const { queue, controller } = makeController(async () => (results.shift() ?? done)());
    queue.add('a');
    await jest.advanceTimersByTimeAsync(100);
    expect(queue.failures('a')).toBe(0);
    await controller.stop();
  });

  it('runs at most `concurrency` reconciles at once and never the same key twice at once', async () => {
    let active = 0;
    let maxActive = 0;
    const activeKeys = new Set<string>();
    const overlaps: string[] = [];
    const pending: { key: string; d: Deferred<void> }[] = [];
    const processed: string[] = [];
    const { queue, controller } = makeController(async (key) => {
      if (activeKeys.has(key)) overlaps.push(key);
      activeKeys.add(key);
      maxActive = Math.max(maxActive, ++active);
      const d = deferred();
      pending.push({ key, d });
      await d.promise;
      activeKeys.delete(key);
      active--;
      processed.push(key);
      return done();
    }, 2);

    for (const k of ['a', 'b', 'c', 'd', 'e']) queue.add(k);
    await flushMicrotasks();
    expect(pending.map((p) => p.key)).toEqual(['a', 'b']);
    queue.add('a'); // changed while in flight
    queue.add('b');
    for (let i = 0; i < 20 && pending.length > 0; i++) {
      pending.shift()?.d.resolve();
      await flushMicrotasks();
      expect(active).toBeLessThanOrEqual(2);
    }
    expect(maxActive).toBe(2);
    expect(overlaps).toEqual([]);
    expect([...processed].sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'd', 'e']);
    await controller.stop();
  });

  it('stop() waits for the reconciles in flight and starts no new ones', async () => {
    const started: string[] = [];
    const finished: string[] = [];
    const gate = deferred();
    const { queue, controller } = makeController(async (key) => {
      started.push(key);
      await gate.promise;
      finished.push(key);
      return requeueAfter(10);
    }, 2);
    queue.add('a');
    queue.add('b');
    queue.add('c');
    await flushMicrotasks();
    expect(started).toEqual(['a', 'b']);

    const stopping = controller.stop();
    expect(await isSettled(stopping)).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toEqual(['a', 'b']);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(started).toEqual(['a', 'b']); // neither 'c' nor the requeues ran
    expect(queue.inFlight).toBe(0);
  });

  it('stop() resolves at once when every worker is idle', async () => {
    const { controller } = makeController(async () => done(), 3);
    await flushMicrotasks();
    expect(await isSettled(controller.stop())).toBe(true);
  });
});
