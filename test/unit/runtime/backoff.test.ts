import { describe, expect, it } from '@jest/globals';
import { ExponentialBackoff } from '../../../src/runtime/backoff.js';

const delays = (b: ExponentialBackoff<string>, key: string, n: number) =>
  Array.from({ length: n }, () => b.next(key));

describe('ExponentialBackoff', () => {
  it('doubles the delay on each failure, from the base, up to the cap', () => {
    const b = new ExponentialBackoff<string>({ baseMs: 100, maxMs: 1000, jitter: 0 });
    expect(delays(b, 'a', 7)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(b.failures('a')).toBe(7);
  });

  it('stays at the cap (and finite) after very many failures', () => {
    const b = new ExponentialBackoff<string>({ baseMs: 1000, maxMs: 300_000, jitter: 0 });
    const all = delays(b, 'a', 200);
    expect(all.at(-1)).toBe(300_000);
    expect(all.every(Number.isFinite)).toBe(true);
  });

  it('uses base 1s, cap 5m and 10% jitter by default', () => {
    const b = new ExponentialBackoff<string>({ random: () => 0 });
    expect(delays(b, 'a', 3)).toEqual([1000, 2000, 4000]);
    const capped = new ExponentialBackoff<string>({ random: () => 0 });
    expect(delays(capped, 'a', 20).at(-1)).toBe(300_000);
    const jittered = new ExponentialBackoff<string>({ random: () => 1 });
    expect(jittered.next('a')).toBe(1100);
  });

  it.each([
    { random: 0, failures: 0, expected: 1000 },
    { random: 0.5, failures: 0, expected: 1250 },
    { random: 0.999999, failures: 0, expected: 1500 },
    { random: 0.5, failures: 2, expected: 5000 },
    // Jitter is added after the cap (as client-go's wait.Backoff does), so a capped delay
    // may exceed maxMs by at most `jitter`.
    { random: 0, failures: 10, expected: 8000 },
    { random: 0.5, failures: 10, expected: 10_000 },
  ])(
    'adds jitter * random of the delay: random=$random after $failures failures → $expected',
    ({ random, failures, expected }) => {
      const b = new ExponentialBackoff<string>({
        baseMs: 1000,
        maxMs: 8000,
        jitter: 0.5,
        random: () => random,
      });
      for (let i = 0; i < failures; i++) b.next('a');
      expect(b.next('a')).toBe(expected);
    },
  );

  it('keeps every delay within [delay, delay * (1 + jitter)] for random in [0, 1)', () => {
    const randoms = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999];
    for (const r of randoms) {
      const b = new ExponentialBackoff<string>({ baseMs: 100, maxMs: 1000, jitter: 0.2, random: () => r });
      const expectedBase = [100, 200, 400, 800, 1000, 1000];
      for (const base of expectedBase) {
        const d = b.next('k');
        expect(d).toBeGreaterThanOrEqual(base);
        expect(d).toBeLessThanOrEqual(Math.round(base * 1.2));
      }
    }
  });

  it('counts failures per key', () => {
    const b = new ExponentialBackoff<string>({ baseMs: 100, maxMs: 10_000, jitter: 0 });
    delays(b, 'a', 3);
    expect(b.next('b')).toBe(100);
    expect(b.failures('a')).toBe(3);
    expect(b.failures('b')).toBe(1);
    expect(b.failures('never')).toBe(0);
  });

  it('reset starts the key over from the base delay and leaves other keys alone', () => {
    const b = new ExponentialBackoff<string>({ baseMs: 100, maxMs: 10_000, jitter: 0 });
    delays(b, 'a', 4);
    delays(b, 'b', 2);
    b.reset('a');
    expect(b.failures('a')).toBe(0);
    expect(b.next('a')).toBe(100);
    expect(b.next('b')).toBe(400);
  });

  it('with base 0 never waits', () => {
    const b = new ExponentialBackoff<string>({ baseMs: 0, jitter: 0.1, random: () => 0.9 });
    expect(delays(b, 'a', 3)).toEqual([0, 0, 0]);
  });
});
