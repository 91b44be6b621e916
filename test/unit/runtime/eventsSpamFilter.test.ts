// The token bucket per object in front of the Event recorder, like client-go's
// EventSourceObjectSpamFilter: a burst, then one Event per refill interval.
import { describe, expect, it } from '@jest/globals';
import { EventSpamFilter } from '../../../src/runtime/eventSpamFilter.js';

const MINUTE = 60_000;

describe('EventSpamFilter', () => {
  it('defaults to a burst of 25 and one more per 5 minutes', () => {
    const f = new EventSpamFilter();
    const at0 = Array.from({ length: 26 }, () => f.allow('a', 0));
    expect(at0.filter(Boolean)).toHaveLength(25);
    expect(at0[25]).toBe(false);
    expect(f.allow('a', 5 * MINUTE - 1)).toBe(false);
    expect(f.allow('a', 5 * MINUTE)).toBe(true);
    expect(f.allow('a', 5 * MINUTE)).toBe(false);
  });

  it.each([
    // [burst, refill, times of the Events, which pass]
    [1, MINUTE, [0, 1, MINUTE - 1, MINUTE, MINUTE], [true, false, false, true, false]],
    [2, MINUTE, [0, 0, 0, 30_000, MINUTE], [true, true, false, false, true]],
    // a long quiet time fills the bucket to `burst`, never beyond
    [2, MINUTE, [0, 0, 60 * MINUTE, 60 * MINUTE, 60 * MINUTE], [true, true, true, true, false]],
    // a refused Event costs nothing
    [1, MINUTE, [0, 30_000, 40_000, 50_000, MINUTE], [true, false, false, false, true]],
  ])('burst %i, refill %i ms: %j', (burst, refillMs, times, expected) => {
    const f = new EventSpamFilter({ burst, refillMs });
    expect(times.map((t) => f.allow('a', t))).toEqual(expected);
  });

  it('keeps a bucket per key', () => {
    const f = new EventSpamFilter({ burst: 1 });
    expect([f.allow('a', 0), f.allow('b', 0), f.allow('a', 0)]).toEqual([true, true, false]);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently used (which starts full again)', () => {
    const f = new EventSpamFilter({ burst: 1, maxKeys: 2 });
    f.allow('a', 0);
    f.allow('b', 0);
    f.allow('a', 0); // refused, but a is now the most recently used
    f.allow('c', 0); // evicts b
    expect(f.size).toBe(2);
    expect(f.allow('a', 0)).toBe(false);
    expect(f.allow('b', 0)).toBe(true);
  });

  it('forgets the buckets under a prefix only', () => {
    const f = new EventSpamFilter({ burst: 1 });
    for (const key of ['ns/a\u0000x', 'ns/a\u0000y', 'ns/ab\u0000x']) f.allow(key, 0);
    f.forget('ns/a\u0000');
    expect(f.size).toBe(1);
    expect([f.allow('ns/a\u0000x', 0), f.allow('ns/ab\u0000x', 0)]).toEqual([true, false]);
  });

  it('refuses a burst below 1 or a refill interval that is not positive', () => {
    expect(() => new EventSpamFilter({ burst: 0 })).toThrow('burst');
    expect(() => new EventSpamFilter({ refillMs: 0 })).toThrow('refill');
  });
});
