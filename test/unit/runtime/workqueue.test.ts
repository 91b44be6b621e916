import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ExponentialBackoff } from '../../../src/runtime/backoff.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { flushMicrotasks, isSettled } from '../helpers/async.js';

const noJitter = (baseMs = 100, maxMs = 10_000) => new ExponentialBackoff({ baseMs, maxMs, jitter: 0 });

describe('WorkQueue: add / get / done', () => {
  it('queues a key added twice only once', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(1);
    await expect(q.get()).resolves.toBe('a');
    expect(q.length).toBe(0);
    expect(await isSettled(q.get())).toBe(false);
    q.shutdown();
  });

  it('hands keys out in FIFO order', async () => {
    const q = new WorkQueue<string>();
    for (const k of ['a', 'b', 'c', 'b']) q.add(k);
    expect(q.length).toBe(3);
    const got = [await q.get(), await q.get(), await q.get()];
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it('tracks length (waiting) and inFlight (processing) separately', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    expect([q.length, q.inFlight]).toEqual([2, 0]);
    const a = await q.get();
    expect([q.length, q.inFlight]).toEqual([1, 1]);
    const b = await q.get();
    expect([q.length, q.inFlight]).toEqual([0, 2]);
    q.done(a as string);
    q.done(b as string);
    expect([q.length, q.inFlight]).toEqual([0, 0]);
  });

  it('resolves a blocked get() when a key is added', async () => {
    const q = new WorkQueue<string>();
    const pending = q.get();
    expect(await isSettled(pending)).toBe(false);
    q.add('a');
    await expect(pending).resolves.toBe('a');
    expect(q.inFlight).toBe(1);
    expect(q.length).toBe(0);
  });

  it('redelivers a key added while it is processed only after done()', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const first = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0); // not queued while in flight
    const second = q.get();
    expect(await isSettled(second)).toBe(false);
    q.done(first as string);
    await expect(second).resolves.toBe('a');
    q.done('a');
    expect(q.length).toBe(0); // the two adds during processing made one redelivery
    expect(await isSettled(q.get())).toBe(false);
    q.shutdown();
  });

  it('never hands the same key to two workers at once', async () => {
    const q = new WorkQueue<string>();
    const worker1 = q.get();
    const worker2 = q.get();
    q.add('a');
    await expect(worker1).resolves.toBe('a');
    q.add('a'); // changed again while worker 1 holds it
    expect(await isSettled(worker2)).toBe(false);
    q.add('b');
    await expect(worker2).resolves.toBe('b'); // another key is fine
    const worker3 = q.get();
    expect(await isSettled(worker3)).toBe(false);
    q.done('a');
    await expect(worker3).resolves.toBe('a');
  });

  it('does not redeliver a key that was not added again during processing', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.done((await q.get()) as string);
    expect(q.length).toBe(0);
    expect(q.inFlight).toBe(0);
  });
});

describe('WorkQueue: delayed adds', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it.each([
    { name: 'shorter second delay wins', first: 1000, second: 500, dueAt: 500 },
    { name: 'longer second delay is ignored', first: 500, second: 1000, dueAt: 500 },
    { name: 'equal delays', first: 700, second: 700, dueAt: 700 },
  ])('addAfter keeps the earliest deadline: $name', async ({ first, second, dueAt }) => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.addAfter('a', first);
    q.addAfter('a', second);
    jest.advanceTimersByTime(dueAt - 1);
    expect(q.length).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    q.done((await q.get()) as string);
    jest.advanceTimersByTime(10_000);
    expect(q.length).toBe(0); // only one delivery: the later deadline was dropped
    expect(jest.getTimerCount()).toBe(0);
  });

  it('measures the earliest deadline from the time of each call', () => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.addAfter('a', 1000); // due at 1000
    jest.advanceTimersByTime(600);
    q.addAfter('a', 500); // due at 1100: later, ignored
    jest.advanceTimersByTime(400);
    expect(q.length).toBe(1);
  });

  it.each([0, -5])('addAfter with delay %p adds at once', (delay) => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.addAfter('a', delay);
    expect(q.length).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('add() cancels a pending delayed add of the same key', async () => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.addAfter('a', 1000);
    q.add('a');
    expect(q.length).toBe(1);
    q.done((await q.get()) as string);
    jest.advanceTimersByTime(5000);
    expect(q.length).toBe(0);
  });

  it('delays keys independently', () => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.addAfter('a', 100);
    q.addAfter('b', 200);
    jest.advanceTimersByTime(100);
    expect(q.length).toBe(1);
    jest.advanceTimersByTime(100);
    expect(q.length).toBe(2);
  });

  it('a delayed add that fires while the key is processed is replayed after done()', async () => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.add('a');
    const key = (await q.get()) as string;
    q.addAfter('a', 100);
    jest.advanceTimersByTime(100);
    expect(q.length).toBe(0);
    q.done(key);
    expect(q.length).toBe(1);
  });

  it('addRateLimited waits for the per-key backoff and returns it', async () => {
    const q = new WorkQueue<string>({ now: () => Date.now(), backoff: noJitter(100) });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const delay = q.addRateLimited('a');
      delays.push(delay);
      jest.advanceTimersByTime(delay - 1);
      expect(q.length).toBe(0);
      jest.advanceTimersByTime(1);
      expect(q.length).toBe(1);
      q.done((await q.get()) as string);
    }
    expect(delays).toEqual([100, 200, 400]);
    expect(q.failures('a')).toBe(3);
    expect(q.failures('b')).toBe(0);
  });

  it('forget resets the backoff of that key only', () => {
    const q = new WorkQueue<string>({ now: () => Date.now(), backoff: noJitter(100) });
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.addRateLimited('b');
    q.forget('a');
    expect(q.failures('a')).toBe(0);
    expect(q.failures('b')).toBe(1);
    expect(q.addRateLimited('a')).toBe(100);
    expect(q.addRateLimited('b')).toBe(200);
  });
});

describe('WorkQueue: shutdown', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('releases every blocked get() with undefined', async () => {
    const q = new WorkQueue<string>();
    const waiting = [q.get(), q.get(), q.get()];
    q.shutdown();
    await expect(Promise.all(waiting)).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('drops queued and delayed keys and ignores later adds', async () => {
    const q = new WorkQueue<string>({ now: () => Date.now() });
    q.add('a');
    q.addAfter('b', 1000);
    q.shutdown();
    expect(q.length).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    q.add('c');
    q.addAfter('d', 10);
    q.addRateLimited('e');
    jest.advanceTimersByTime(60_000);
    expect(q.length).toBe(0);
    await expect(q.get()).resolves.toBeUndefined();
  });

  it('does not redeliver a key re-added during processing once shut down', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const key = (await q.get()) as string;
    q.add('a');
    q.shutdown();
    q.done(key);
    expect(q.length).toBe(0);
    expect(q.inFlight).toBe(0);
    await flushMicrotasks();
    await expect(q.get()).resolves.toBeUndefined();
  });
});

describe('WorkQueue: very long delays', () => {
  // Node's setTimeout takes at most 2^31-1 ms (~24.8 days); a longer delay fires after 1 ms.
  // A pollInterval such as "600h" passes the CRD and the zod schema and reaches addAfter
  // through the reconciler's requeueAfter. Real timers on purpose: fake timers do not
  // reproduce Node's overflow.
  it('does not fire a delay longer than the 32-bit timer limit early', async () => {
    const q = new WorkQueue<string>();
    try {
      q.addAfter('a', 600 * 3_600_000); // 600h
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(q.length).toBe(0);
    } finally {
      q.shutdown();
    }
  });
});
