// Read-through cache: served from the cache when it holds the whole object and every write of
// ours is in it; live otherwise, and a typed copy either way.
import { describe, expect, it } from '@jest/globals';
import type { V1Deployment } from '@kubernetes/client-node';
import { ReadThrough } from '../../../src/runtime/cachedReads.js';

const cached = (rv: string, spec = true): V1Deployment =>
  ({
    metadata: {
      name: 'api',
      namespace: 'ml',
      resourceVersion: rv,
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    ...(spec ? { spec: { selector: {}, template: {} } } : {}),
  }) as unknown as V1Deployment;

function setup(object: V1Deployment | undefined) {
  const clock = { ms: 0 };
  const reads = new ReadThrough<V1Deployment>(
    'V1Deployment',
    (d) => d.spec !== undefined,
    () => clock.ms,
  );
  const store = { object };
  reads.attach({ get: (name, ns) => (name === 'api' && ns === 'ml' ? store.object : undefined) });
  let live = 0;
  const read = () =>
    reads.read('ml', 'api', async () => {
      live++;
      return { metadata: { name: 'api', resourceVersion: 'live' } } as V1Deployment;
    });
  return { reads, store, clock, read, live: () => live };
}

describe('ReadThrough', () => {
  it('serves a typed copy from the cache: dates as Date, and changing it changes nothing cached', async () => {
    const t = setup(cached('5'));
    const got = await t.read();
    expect(got.metadata?.creationTimestamp).toBeInstanceOf(Date);
    got.metadata!.name = 'changed';
    expect(t.store.object?.metadata?.name).toBe('api');
    expect(t.live()).toBe(0);
  });

  it('goes live on a miss and for a stub', async () => {
    expect((await setup(undefined).read()).metadata?.resourceVersion).toBe('live');
    expect((await setup(cached('5', false)).read()).metadata?.resourceVersion).toBe('live');
  });

  it('after a write of ours, goes live until the watch shows that write', async () => {
    const t = setup(cached('5'));
    t.reads.wrote({ metadata: { name: 'api', namespace: 'ml', resourceVersion: '6' } });
    await t.read();
    expect(t.live()).toBe(1);
    t.reads.observed({ metadata: { name: 'api', namespace: 'ml', resourceVersion: '5' } }, 'update');
    await t.read();
    expect(t.live()).toBe(2); // an older version seen: still live
    t.store.object = cached('6');
    t.reads.observed(t.store.object, 'update');
    expect((await t.read()).metadata?.resourceVersion).toBe('6');
    expect(t.live()).toBe(2);
  });

  it('a write the watch never shows stops holding the cache back after a while', async () => {
    const t = setup(cached('5'));
    t.reads.wrote({ metadata: { name: 'api', namespace: 'ml', resourceVersion: '6' } });
    t.clock.ms += 31_000;
    await t.read();
    expect(t.live()).toBe(0);
  });

  it('after a delete of ours, goes live until the watch shows it gone', async () => {
    const t = setup(cached('5'));
    t.reads.deleted('ml', 'api');
    await t.read();
    expect(t.live()).toBe(1);
    t.reads.observed(cached('5'), 'delete');
    await t.read();
    expect(t.live()).toBe(1);
  });
});
