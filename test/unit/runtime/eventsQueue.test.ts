// The queue under the Event recorder: bounded, drained in the background by a fixed number of
// workers, one item of a key at a time and in order, keys taking turns.
import { describe, expect, it } from '@jest/globals';
import { DrainQueue } from '../../../src/runtime/eventQueue.js';
import { deferred, flushMicrotasks, isSettled, type Deferred } from '../helpers/async.js';

function setup(options: { capacity?: number; concurrency?: number } = {}) {
  const started: string[] = [];
  const gates = new Map<string, Deferred<void>>();
  const errors: [unknown, string][] = [];
  const queue = new DrainQueue<string>({
    handle: async (item) => {
      started.push(item);
      const gate = deferred();
      gates.set(item, gate);
      await gate.promise;
      if (item.endsWith('!')) throw new Error(`${item} failed`);
    },
    onError: (err, item) => errors.push([err, item]),
    ...options,
  });
  const finish = async (...items: string[]) => {
    for (const item of items) gates.get(item)?.resolve();
    await flushMicrotasks();
  };
  return { queue, started, errors, finish };
}

describe('DrainQueue', () => {
  it('starts nothing in the caller: workers begin in a microtask', async () => {
    const t = setup();
    expect(t.queue.push('a', 'a1')).toBe(true);
    expect(t.started).toEqual([]);
    await flushMicrotasks();
    expect(t.started).toEqual(['a1']);
    expect(t.queue.length).toBe(0);
  });

  it('refuses an item when full, and takes one again once a worker took one', async () => {
    const t = setup({ capacity: 2, concurrency: 1 });
    expect(['a1', 'b1', 'c1'].map((i) => t.queue.push(i[0] as string, i))).toEqual([true, true, false]);
    expect(t.queue.full).toBe(true);
    await flushMicrotasks();
    expect(t.queue.length).toBe(1);
    expect(t.queue.push('c', 'c1')).toBe(true);
  });

  it('handles one item of a key at a time, in order, while other keys go on', async () => {
    const t = setup({ concurrency: 2 });
    for (const item of ['a1', 'a2', 'a3', 'b1', 'b2']) t.queue.push(item[0] as string, item);
    await flushMicrotasks();
    expect(t.started).toEqual(['a1', 'b1']);
    await t.finish('a1');
    expect(t.started).toEqual(['a1', 'b1', 'a2']);
    await t.finish('b1', 'a2');
    expect(t.started).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it('lets keys take turns: a burst on one key does not hold up another', async () => {
    const t = setup({ concurrency: 1 });
    for (const item of ['a1', 'a2', 'a3', 'b1']) t.queue.push(item[0] as string, item);
    await flushMicrotasks();
    await t.finish('a1');
    expect(t.started).toEqual(['a1', 'b1']);
  });

  it('runs at most `concurrency` items at once', async () => {
    const t = setup({ concurrency: 3 });
    for (const key of 'abcdef') t.queue.push(key, `${key}1`);
    await flushMicrotasks();
    expect(t.started).toHaveLength(3);
    await t.finish('a1');
    expect(t.started).toHaveLength(4);
  });

  it('passes a failure to onError and goes on', async () => {
    const t = setup({ concurrency: 1 });
    t.queue.push('a', 'a1!');
    t.queue.push('a', 'a2');
    await flushMicrotasks();
    await t.finish('a1!');
    expect(t.errors.map(([e, item]) => [(e as Error).message, item])).toEqual([['a1! failed', 'a1!']]);
    expect(t.started).toEqual(['a1!', 'a2']);
  });

  it('flush waits for every item, including those pushed meanwhile', async () => {
    const t = setup();
    await expect(t.queue.flush()).resolves.toBeUndefined();
    t.queue.push('a', 'a1');
    const flushed = t.queue.flush();
    await flushMicrotasks();
    t.queue.push('a', 'a2');
    await t.finish('a1');
    expect(await isSettled(flushed)).toBe(false);
    await t.finish('a2');
    expect(await isSettled(flushed)).toBe(true);
  });

  it('refuses a capacity or concurrency below 1', () => {
    const handle = async () => {};
    const onError = () => {};
    expect(() => new DrainQueue({ handle, onError, capacity: 0 })).toThrow('capacity');
    expect(() => new DrainQueue({ handle, onError, concurrency: 0 })).toThrow('concurrency');
  });
});
