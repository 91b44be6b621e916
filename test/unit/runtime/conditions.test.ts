import { describe, expect, it } from '@jest/globals';
import {
  type Condition,
  findCondition,
  isTrue,
  removeCondition,
  setCondition,
} from '../../../src/runtime/conditions.js';

const T0 = new Date('2025-01-01T00:00:00.000Z');
const T1 = new Date('2025-01-01T01:00:00.000Z');

const ready = (status: Condition['status'], reason = 'Succeeded', message = 'ok'): Condition => ({
  type: 'Ready',
  status,
  observedGeneration: 1,
  lastTransitionTime: T0.toISOString(),
  reason,
  message,
});

describe('setCondition', () => {
  it('adds a new condition with lastTransitionTime = now and the generation', () => {
    const out = setCondition(
      [],
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' },
      3,
      T1,
    );
    expect(out).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: 'ok',
        observedGeneration: 3,
        lastTransitionTime: T1.toISOString(),
      },
    ]);
  });

  it.each([
    { name: 'same status, same reason', from: 'True', to: 'True', reason: 'Succeeded', moves: false },
    {
      name: 'same status, new reason and message',
      from: 'False',
      to: 'False',
      reason: 'Other',
      moves: false,
    },
    { name: 'True → False', from: 'True', to: 'False', reason: 'Broken', moves: true },
    { name: 'False → True', from: 'False', to: 'True', reason: 'Succeeded', moves: true },
    { name: 'Unknown → False', from: 'Unknown', to: 'False', reason: 'Broken', moves: true },
  ] as const)('lastTransitionTime: $name → moves=$moves', ({ from, to, reason, moves }) => {
    const out = setCondition(
      [ready(from)],
      { type: 'Ready', status: to, reason, message: 'new message' },
      2,
      T1,
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual({
      type: 'Ready',
      status: to,
      reason,
      message: 'new message',
      observedGeneration: 2,
      lastTransitionTime: (moves ? T1 : T0).toISOString(),
    });
  });

  it('replaces in place, keeping the order and the other conditions', () => {
    const other: Condition = { ...ready('True'), type: 'ModelResolved', reason: 'Resolved' };
    const stalled: Condition = { ...ready('True'), type: 'Stalled', reason: 'X' };
    const out = setCondition(
      [other, ready('True'), stalled],
      { type: 'Ready', status: 'False', reason: 'R', message: 'm' },
      1,
      T1,
    );
    expect(out.map((c) => c.type)).toEqual(['ModelResolved', 'Ready', 'Stalled']);
    expect(out[0]).toBe(other);
    expect(out[2]).toBe(stalled);
  });

  it('does not mutate its input', () => {
    const input = [ready('True')];
    const snapshot = structuredClone(input);
    setCondition(input, { type: 'Ready', status: 'False', reason: 'R', message: 'm' }, 5, T1);
    setCondition(input, { type: 'New', status: 'True', reason: 'R', message: 'm' }, 5, T1);
    expect(input).toEqual(snapshot);
  });

  it('sets observedGeneration to the given generation, and omits it when unknown', () => {
    const withGen = setCondition(
      [ready('True')],
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' },
      7,
      T1,
    );
    expect(withGen[0]?.observedGeneration).toBe(7);
    const without = setCondition(
      [],
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' },
      undefined,
      T1,
    );
    expect(without[0]).not.toHaveProperty('observedGeneration');
  });

  it('an unchanged condition yields a deep-equal list (no status write needed)', () => {
    const before = [ready('True')];
    const after = setCondition(
      before,
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' },
      1,
      T1,
    );
    expect(after).toEqual(before);
  });
});

describe('removeCondition / findCondition / isTrue', () => {
  const list: Condition[] = [ready('True'), { ...ready('False'), type: 'Stalled' }];

  it('removeCondition drops only that type and copes with an absent one', () => {
    expect(removeCondition(list, 'Ready').map((c) => c.type)).toEqual(['Stalled']);
    expect(removeCondition(list, 'Missing')).toEqual(list);
    expect(list).toHaveLength(2); // not mutated
  });

  it('findCondition finds by type', () => {
    expect(findCondition(list, 'Stalled')?.status).toBe('False');
    expect(findCondition(list, 'Missing')).toBeUndefined();
    expect(findCondition(undefined, 'Ready')).toBeUndefined();
  });

  it.each([
    { conditions: list, type: 'Ready', expected: true },
    { conditions: list, type: 'Stalled', expected: false },
    { conditions: [{ ...ready('Unknown') }], type: 'Ready', expected: false },
    { conditions: list, type: 'Missing', expected: false },
    { conditions: undefined, type: 'Ready', expected: false },
  ])('isTrue($type) → $expected', ({ conditions, type, expected }) => {
    expect(isTrue(conditions, type)).toBe(expected);
  });
});
