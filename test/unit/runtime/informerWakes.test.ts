import { describe, expect, it } from '@jest/globals';
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { pino } from 'pino';
import { SupervisedInformer, updateWakes, wakeFingerprint } from '../../../src/runtime/informer.js';

const base = {
  metadata: {
    name: 'a',
    namespace: 'ns',
    generation: 1,
    resourceVersion: '10',
    labels: { team: 'ml', tier: 'gold' } as Record<string, string>,
    annotations: { note: 'x' } as Record<string, string>,
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
    ['a label changed', (o) => (o.metadata.labels = { team: 'ops', tier: 'gold' }), true],
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

describe('SupervisedInformer with ignoreStatusOnlyUpdates', () => {
  type Callback = (obj: KubernetesObject) => void;
  function fakeInformer() {
    const callbacks = new Map<string, Callback[]>();
    return {
      emit: (verb: string, obj: KubernetesObject) => callbacks.get(verb)?.forEach((cb) => cb(obj)),
      informer: {
        on: (verb: string, cb: Callback) => callbacks.set(verb, [...(callbacks.get(verb) ?? []), cb]),
        off: () => undefined,
        start: async () => undefined,
        stop: async () => undefined,
        get: () => undefined,
        list: () => [],
      },
    };
  }

  async function started(ignoreStatusOnlyUpdates: boolean) {
    const fake = fakeInformer();
    const seen: string[] = [];
    const informer = new SupervisedInformer<KubernetesObject>({
      name: 'mds',
      makeInformer: () =>
        fake.informer as unknown as Informer<KubernetesObject> & ObjectCache<KubernetesObject>,
      onObject: (obj, event) => seen.push(`${event}:${obj.metadata?.resourceVersion}`),
      resyncPeriodMs: 3_600_000,
      watchdogMs: 3_600_000,
      log: pino({ level: 'silent' }),
      ignoreStatusOnlyUpdates,
    });
    await informer.start();
    return { fake, seen, stop: () => informer.stop() };
  }

  const at = (rv: string, generation = 1) =>
    ({ metadata: { name: 'a', namespace: 'ns', resourceVersion: rv, generation } }) as KubernetesObject;

  it('delivers the add, the spec change and the delete, not the status-only updates', async () => {
    const { fake, seen, stop } = await started(true);
    fake.emit('add', at('1'));
    fake.emit('update', at('2')); // our status write
    fake.emit('update', at('3', 2)); // a spec edit
    fake.emit('update', at('4', 2)); // our status write again
    fake.emit('delete', at('5', 2));
    fake.emit('add', at('6')); // recreated: new from the start
    await stop();
    expect(seen).toEqual(['add:1', 'update:3', 'delete:5', 'add:6']);
  });

  it('delivers every update when not asked to filter (child informers)', async () => {
    const { fake, seen, stop } = await started(false);
    fake.emit('add', at('1'));
    fake.emit('update', at('2'));
    await stop();
    expect(seen).toEqual(['add:1', 'update:2']);
  });
});
