// Read-your-writes for the object's own status: a reconcile of a cached view older than our last
// status write does nothing but look again soon; once the informer delivers the write, it runs.
import { describe, expect, it } from '@jest/globals';
import { UnseenWrites } from '../../../src/runtime/cachedReads.js';
import { DIGEST_A } from '../helpers/pipelineFixtures.js';
import { KEY, TAG, setupReconciler } from '../helpers/reconcilerHarness.js';

describe('own status writes', () => {
  it('a view the last write is not in yet is not acted on', async () => {
    const now = 0;
    const ownWrites = new UnseenWrites(() => now);
    const t = setupReconciler({ ownWrites });
    t.ecr.push(TAG, DIGEST_A);
    const stale = structuredClone(t.md()); // what a lagging cache still holds
    await t.reconcile(); // rollout patched; status written
    const written = t.md();
    expect(ownWrites.lagging(written.metadata.namespace, written.metadata.name)).toBe(true);
    const patches = t.apps.patches.length;
    const writes = t.writes.length;
    t.store.set(KEY, stale);
    expect(await t.reconcile()).toEqual({ requeueAfterMs: 200 });
    expect(t.apps.patches).toHaveLength(patches);
    expect(t.writes).toHaveLength(writes);
    // The informer delivers our write: the next reconcile acts on it.
    t.store.set(KEY, written);
    ownWrites.observed(written, 'update');
    expect(ownWrites.lagging(written.metadata.namespace, written.metadata.name)).toBe(false);
    await t.reconcile();
    expect(t.status().phase).toBe('Verifying');
  });

  it('trusts the cache again after 30 s without the write', () => {
    let now = 0;
    const w = new UnseenWrites(() => now);
    w.wrote({ metadata: { namespace: 'ml', name: 'a', resourceVersion: '5' } });
    expect(w.lagging('ml', 'a')).toBe(true);
    w.observed({ metadata: { namespace: 'ml', name: 'a', resourceVersion: '4' } }, 'update');
    expect(w.lagging('ml', 'a')).toBe(true);
    now = 30_001;
    expect(w.lagging('ml', 'a')).toBe(false);
  });
});

it('a write the watch delivered before its own response was handled does not wait for itself', () => {
  const w = new UnseenWrites(() => 0);
  const obj = { metadata: { namespace: 'ml', name: 'a', resourceVersion: '7' } };
  w.observed(obj, 'update'); // the watch was faster than the PATCH response
  w.wrote(obj);
  expect(w.lagging('ml', 'a')).toBe(false);
});
