import { describe, expect, it } from '@jest/globals';
import {
  nextPollInMs,
  pollRetryMs,
  shouldPoll,
  shouldPollChain,
  type PollInput,
} from '../../../src/controller/policies/shouldPoll.js';

// Not due for any reason: polled 10s ago with a 60s interval, nothing changed.
const base: PollInput = {
  nowMs: 100_000,
  lastPolledAtMs: 90_000,
  intervalMs: 60_000,
  generation: 2,
  observedGeneration: 2,
  reconcileRequestedAt: undefined,
  lastHandledReconcileAt: undefined,
  followed: { name: 'm', ref: 'alias:champion' },
  resolved: { name: 'm', ref: 'alias:champion' },
};

const firstPoll: Partial<PollInput> = { lastPolledAtMs: undefined };
const specChanged: Partial<PollInput> = { generation: 3 };
const refChanged: Partial<PollInput> = { resolved: { name: 'm', ref: 'alias:challenger' } };
const requested: Partial<PollInput> = { reconcileRequestedAt: '2025-01-01T00:00:00Z' };
const elapsed: Partial<PollInput> = { nowMs: 150_000 };

interface Row {
  name: string;
  input: Partial<PollInput>;
  reason: string | null;
  message?: string;
}

const rows: Row[] = [
  { name: 'nothing to do', input: {}, reason: null },
  {
    name: 'never polled',
    input: firstPoll,
    reason: 'FirstPoll',
    message: 'no poll yet by this operator process',
  },
  {
    name: 'new generation',
    input: specChanged,
    reason: 'SpecChanged',
    message: 'generation 3 not yet observed (last 2)',
  },
  {
    name: 'generation never observed',
    input: { observedGeneration: undefined },
    reason: 'SpecChanged',
    message: 'generation 2 not yet observed (last none)',
  },
  {
    name: 'no generation at all',
    input: { generation: undefined, observedGeneration: undefined },
    reason: null,
  },
  {
    name: 'other ref followed',
    input: refChanged,
    reason: 'ModelRefChanged',
    message: 'now following m alias:champion',
  },
  {
    name: 'other model followed',
    input: { resolved: { name: 'old', ref: 'alias:champion' } },
    reason: 'ModelRefChanged',
  },
  {
    name: 'stage ↔ alias switch',
    input: { followed: { name: 'm', ref: 'stage:Production' } },
    reason: 'ModelRefChanged',
  },
  { name: 'nothing resolved yet is not a ref change', input: { resolved: undefined }, reason: null },
  {
    name: 'reconcile requested, never handled',
    input: requested,
    reason: 'ReconcileRequested',
    message: 'reconcile requested at 2025-01-01T00:00:00Z',
  },
  {
    name: 'reconcile requested again',
    input: { reconcileRequestedAt: 'b', lastHandledReconcileAt: 'a' },
    reason: 'ReconcileRequested',
  },
  {
    name: 'reconcile request already handled',
    input: { reconcileRequestedAt: 'a', lastHandledReconcileAt: 'a' },
    reason: null,
  },
  {
    name: 'annotation removed after handling',
    input: { reconcileRequestedAt: undefined, lastHandledReconcileAt: 'a' },
    reason: null,
  },
  { name: 'interval elapsed', input: elapsed, reason: 'IntervalElapsed', message: 'last poll 60s ago' },
  {
    name: 'interval elapsed long ago',
    input: { nowMs: 1_000_000 },
    reason: 'IntervalElapsed',
    message: 'last poll 910s ago',
  },
  { name: 'interval not quite elapsed', input: { nowMs: 149_999 }, reason: null },
  // precedence: the first policy in the chain wins
  {
    name: 'all reasons at once',
    input: { ...firstPoll, ...specChanged, ...refChanged, ...requested, ...elapsed },
    reason: 'FirstPoll',
  },
  {
    name: 'spec over ref, request, interval',
    input: { ...specChanged, ...refChanged, ...requested, ...elapsed },
    reason: 'SpecChanged',
  },
  {
    name: 'ref over request, interval',
    input: { ...refChanged, ...requested, ...elapsed },
    reason: 'ModelRefChanged',
  },
  { name: 'request over interval', input: { ...requested, ...elapsed }, reason: 'ReconcileRequested' },
];

describe('shouldPoll', () => {
  it.each(rows)('$name → $reason', ({ input, reason, message }) => {
    const result = shouldPoll({ ...base, ...input });
    if (reason === null) {
      expect(result).toBeNull();
    } else {
      expect(result?.reason).toBe(reason);
      if (message !== undefined) expect(result?.message).toBe(message);
    }
  });

  it('evaluates the five policies in the documented order', () => {
    expect(shouldPollChain).toHaveLength(5);
    const reasons = [firstPoll, specChanged, refChanged, requested, elapsed].map(
      (input) => shouldPoll({ ...base, ...input })?.reason,
    );
    expect(reasons).toEqual([
      'FirstPoll',
      'SpecChanged',
      'ModelRefChanged',
      'ReconcileRequested',
      'IntervalElapsed',
    ]);
  });
});

describe('nextPollInMs', () => {
  it.each([
    { name: 'never polled: due now', nowMs: 100_000, lastPolledAtMs: undefined, expected: 0 },
    { name: 'polled 10s ago', nowMs: 100_000, lastPolledAtMs: 90_000, expected: 50_000 },
    { name: 'polled just now', nowMs: 100_000, lastPolledAtMs: 100_000, expected: 60_000 },
    { name: 'exactly due', nowMs: 150_000, lastPolledAtMs: 90_000, expected: 0 },
    { name: 'overdue', nowMs: 500_000, lastPolledAtMs: 90_000, expected: 0 },
  ])('$name → $expected', ({ nowMs, lastPolledAtMs, expected }) => {
    expect(nextPollInMs({ nowMs, lastPolledAtMs, intervalMs: 60_000 })).toBe(expected);
  });
});

describe('after failed polls (backoff until retryAtMs)', () => {
  const backingOff: Partial<PollInput> = { retryAtMs: 120_000 };
  it.each<[string, Partial<PollInput>, string | null]>([
    ['never polled, backing off: not yet', { ...firstPoll, ...backingOff }, null],
    ['interval elapsed, backing off: not yet', { ...elapsed, retryAtMs: 160_000 }, null],
    ['backoff over: due again', { ...firstPoll, retryAtMs: 100_000 }, 'FirstPoll'],
    ['a spec change does not wait for the backoff', { ...specChanged, ...backingOff }, 'SpecChanged'],
    ['a reconcile request does not wait', { ...requested, ...backingOff }, 'ReconcileRequested'],
  ])('%s', (_name, input, reason) => {
    expect(shouldPoll({ ...base, ...input })?.reason ?? null).toBe(reason);
  });

  it('nextPollInMs waits for the later of the interval and the backoff', () => {
    expect(
      nextPollInMs({ nowMs: 100_000, lastPolledAtMs: undefined, intervalMs: 60_000, retryAtMs: 104_000 }),
    ).toBe(4000);
    expect(
      nextPollInMs({ nowMs: 100_000, lastPolledAtMs: 90_000, intervalMs: 60_000, retryAtMs: 104_000 }),
    ).toBe(50_000);
    expect(nextPollInMs({ nowMs: 100_000, lastPolledAtMs: 90_000, intervalMs: 60_000, retryAtMs: 10 })).toBe(
      50_000,
    );
  });
});

describe('pollRetryMs', () => {
  it.each([
    [1, 60_000, 1000],
    [2, 60_000, 2000],
    [3, 60_000, 4000],
    [6, 60_000, 32_000],
    [7, 60_000, 60_000], // capped by the poll interval
    [500, 60_000, 60_000],
    [3, 10_000, 4000],
    [5, 10_000, 10_000],
  ])('failure %i with a %i ms interval → %i ms', (failures, intervalMs, expected) => {
    expect(pollRetryMs(failures, intervalMs)).toBe(expected);
  });
});
