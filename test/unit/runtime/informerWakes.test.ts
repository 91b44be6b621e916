import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { updateWakes, wakeFingerprint } from '../../../src/runtime/informer.js';

const base = {
  metadata: {
    name: 'a',
    namespace: 'ns',
    generation: 1,
    resourceVersion: '10',
    labels: { team: 'ml' },
    annotations: { note: 'x' },
  },
  status: { phase: 'Building' },
};
type Edit = (o: typeof base & KubernetesObject) => void;

describe('which updates of a watched object wake its reconciler', () => {
  it.each<[string, Edit, boolean]>([
    [
      'only status and resourceVersion changed (our own write)',
      (o) => ((o.status.phase = 'Failed'), (o.metadata.resourceVersion = '11')),
      false,
    ],
    [
      'only managedFields changed',
      (o) => Object.assign(o.metadata, { managedFields: [{ manager: 'op' }] }),
      false,
    ],
    ['the spec changed (generation)', (o) => (o.metadata.generation = 2), true],
    ['a label changed', (o) => (o.metadata.labels = { team: 'ops' }), true],
    [
      'an annotation was added (retry, reconcile request)',
      (o) => (o.metadata.annotations = { note: 'x', retry: '1' }),
      true,
    ],
    [
      'deletion started',
      (o) => Object.assign(o.metadata, { deletionTimestamp: '2026-12-01T00:00:00Z' }),
      true,
    ],
    [
      'labels only reordered',
      (o) => (o.metadata.labels = Object.fromEntries(Object.entries(o.metadata.labels).reverse())),
      false,
    ],
  ])('%s → %s', (_, edit, wakes) => {
    const next = structuredClone(base);
    edit(next);
    expect(updateWakes(wakeFingerprint(base), wakeFingerprint(next))).toBe(wakes);
  });

  it('an object never seen before wakes', () => {
    expect(updateWakes(undefined, wakeFingerprint(base))).toBe(true);
  });
});
