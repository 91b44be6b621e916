import { describe, expect, it } from '@jest/globals';
import { KeyedSemaphore, Semaphore } from '../../../src/runtime/semaphore.js';
import { deferred, flushMicrotasks, isSettled } from '../helpers/async.js';

describe('Semaphore', () => {
  it('lets `limit` holders in at once; the rest wait in arrival order', async () => {
    const sem = new Semaphore(2);
    const order: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map((name) => ({ name, gate: deferred() }));
    const runs = gates.map(({ name, gate }) =>
      sem.run(async () => {
        order.push(`start ${name}`);
        await gate.promise;
        order.push(`end ${name}`);
      }),
    );
    await flushMicrotasks();
    expect(order).toEqual(['start a', 'start b']);
    expect([sem.inUse, sem.queued]).toEqual([2, 2]);

    gates[1]?.gate.resolve();
    await flushMicrotasks();
    expect(order).toEqual(['start a', 'start b', 'end b', 'start c']);
    gates[0]?.gate.resolve();
    gates[2]?.gate.resolve();
    gates[3]?.gate.resolve();
    await Promise.all(runs);
    expect(order.filter((o) => o.startsWith('start'))).toEqual(['start a', 'start b', 'start c', 'start d']);
    expect([sem.inUse, sem.queued]).toEqual([0, 0]);
  });

  it('gives the slot back when the holder throws', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(sem.inUse).toBe(0);
    await expect(sem.run(async () => 'next')).resolves.toBe('next');
  });

  it('a release called twice frees one slot only', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const second = sem.acquire();
    const third = sem.acquire();
    release();
    release();
    expect(await isSettled(second)).toBe(true);
    expect(await isSettled(third)).toBe(false);
    expect(sem.inUse).toBe(1);
  });

  it('refuses a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow('at least 1');
  });
});

describe('KeyedSemaphore', () => {
  it('limits each key on its own: a busy key does not hold up another', async () => {
    const sems = new KeyedSemaphore<string>(1);
    const slow = deferred();
    const busy = sems.run('http://slow', () => slow.promise);
    const waiting = sems.run('http://slow', async () => 'after');
    await expect(sems.run('http://fast', async () => 'fast')).resolves.toBe('fast');
    expect(await isSettled(waiting)).toBe(false);
    expect(sems.inUse('http://slow')).toBe(1);

    slow.resolve();
    await busy;
    await expect(waiting).resolves.toBe('after');
    expect(sems.size).toBe(0); // idle keys are dropped
  });
});
