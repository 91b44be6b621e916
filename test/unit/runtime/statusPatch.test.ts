import { describe, expect, it } from '@jest/globals';
import { statusMergePatch } from '../../../src/runtime/statusPatch.js';
import { applyMergePatch } from '../helpers/mergePatch.js';

type Status = Record<string, unknown>;

const model = { name: 'm', version: '3', runId: 'r3', uri: 'models:/m/3' };
const cond = (status: string) => [
  { type: 'Ready', status, reason: 'R', message: 'x', lastTransitionTime: 't' },
];

interface Row {
  name: string;
  current: Status | undefined;
  desired: Status;
  patch: Status | undefined;
}

const rows: Row[] = [
  { name: 'both empty', current: undefined, desired: {}, patch: undefined },
  {
    name: 'unchanged',
    current: { phase: 'Succeeded', model, conditions: cond('True') },
    desired: { phase: 'Succeeded', model: { ...model }, conditions: cond('True') },
    patch: undefined,
  },
  { name: 'no status yet', current: undefined, desired: { phase: 'Pending' }, patch: { phase: 'Pending' } },
  {
    name: 'one scalar changed',
    current: { phase: 'Pending', observedGeneration: 1 },
    desired: { phase: 'Failed', observedGeneration: 1 },
    patch: { phase: 'Failed' },
  },
  {
    name: 'field added',
    current: { phase: 'Pending' },
    desired: { phase: 'Pending', observedGeneration: 2 },
    patch: { observedGeneration: 2 },
  },
  {
    name: 'field removed → null',
    current: { phase: 'Pending', lastHandledReconcileAt: 'x' },
    desired: { phase: 'Pending' },
    patch: { lastHandledReconcileAt: null },
  },
  {
    name: 'field set to undefined → null',
    current: { phase: 'Pending', model },
    desired: { phase: 'Pending', model: undefined },
    patch: { model: null },
  },
  {
    name: 'undefined in both → nothing',
    current: { phase: 'Pending', model: undefined },
    desired: { phase: 'Pending' },
    patch: undefined,
  },
  {
    name: 'nested change sends only the changed nested fields',
    current: { phase: 'Succeeded', model },
    desired: { phase: 'Succeeded', model: { ...model, version: '4', uri: 'models:/m/4' } },
    patch: { model: { version: '4', uri: 'models:/m/4' } },
  },
  {
    name: 'array element changed sends the whole array',
    current: { conditions: cond('True') },
    desired: { conditions: cond('False') },
    patch: { conditions: cond('False') },
  },
  {
    name: 'key order does not matter',
    current: { model: { uri: 'u', name: 'm' } },
    desired: { model: { name: 'm', uri: 'u' } },
    patch: undefined,
  },
];

describe('statusMergePatch', () => {
  it.each(rows)('$name', ({ current, desired, patch }) => {
    expect(statusMergePatch(current, desired)).toEqual(patch);
  });

  it('does not mutate its inputs', () => {
    const current = { phase: 'Pending', model: { ...model } };
    const desired = { phase: 'Failed' };
    const snapshot = structuredClone({ current, desired });
    statusMergePatch(current, desired);
    expect({ current, desired }).toEqual(snapshot);
  });

  // The apiserver applies the patch with RFC 7386 semantics: an object in the patch is merged
  // into the stored object, so a key missing from a nested object is kept, not removed.
  it.each<Omit<Row, 'patch'>>([
    ...rows.map(({ name, current, desired }) => ({ name, current, desired })),
    {
      name: 'nested field removed (new version without a run id)',
      current: { phase: 'Succeeded', model },
      desired: { phase: 'Succeeded', model: { name: 'm', version: '4', uri: 'models:/m/4' } },
    },
  ])('applied as a JSON merge patch turns current into desired: $name', ({ current, desired }) => {
    const patch = statusMergePatch(current, desired);
    const applied = patch === undefined ? (current ?? {}) : applyMergePatch(current ?? {}, patch);
    expect(applied).toEqual(JSON.parse(JSON.stringify(desired)));
  });
});
