import { describe, expect, it } from '@jest/globals';
import { RecentDeliveries } from '../../../src/webhooks/deliveries.js';

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('RecentDeliveries', () => {
  it('remembers an id for ttlMs, then forgets it', () => {
    const c = clock();
    const seen = new RecentDeliveries({ ttlMs: 1000, now: c.now });
    seen.add('a');
    c.advance(999);
    expect(seen.has('a')).toBe(true);
    c.advance(1);
    expect(seen.has('a')).toBe(false);
    expect(seen.size).toBe(0);
  });

  it('drops the oldest ids first once full', () => {
    const c = clock();
    const seen = new RecentDeliveries({ ttlMs: 60_000, maxEntries: 3, now: c.now });
    for (const id of ['a', 'b', 'c', 'd']) {
      seen.add(id);
      c.advance(1);
    }
    expect(['a', 'b', 'c', 'd'].map((id) => seen.has(id))).toEqual([false, true, true, true]);
    expect(seen.size).toBe(3);
  });

  it('counts an id added again as new', () => {
    const c = clock();
    const seen = new RecentDeliveries({ ttlMs: 1000, maxEntries: 2, now: c.now });
    seen.add('a');
    c.advance(600);
    seen.add('b');
    seen.add('a'); // now newer than b
    seen.add('c'); // evicts b, the oldest
    expect([seen.has('a'), seen.has('b'), seen.has('c')]).toEqual([true, false, true]);
    c.advance(999);
    expect(seen.has('a')).toBe(true);
  });

  it('expires ids in the order they came, sweeping only what is due', () => {
    const c = clock();
    const seen = new RecentDeliveries({ ttlMs: 100, now: c.now });
    for (let i = 0; i < 10; i++) {
      seen.add(`id-${i}`);
      c.advance(10);
    }
    // now = 100: id-0 (at 0) is due, id-1 (at 10) is not
    expect(seen.size).toBe(9);
    expect(seen.has('id-0')).toBe(false);
    expect(seen.has('id-1')).toBe(true);
  });

  it('stays within its cap under a flood', () => {
    const seen = new RecentDeliveries({ ttlMs: 3_600_000, maxEntries: 10_000 });
    for (let i = 0; i < 50_000; i++) seen.add(`id-${i}`);
    expect(seen.size).toBe(10_000);
    expect(seen.has('id-39999')).toBe(false);
    expect(seen.has('id-40000')).toBe(true);
  });

  it('refuses nonsense limits', () => {
    expect(() => new RecentDeliveries({ ttlMs: 0 })).toThrow('ttlMs');
    expect(() => new RecentDeliveries({ ttlMs: 1, maxEntries: 0 })).toThrow('maxEntries');
  });
});
