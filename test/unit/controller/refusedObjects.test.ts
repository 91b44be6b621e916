// The reconciler over objects the apiserver refuses: a 400/422 on something rendered from the
// spec stalls with the apiserver's causes, the same text on every attempt, so a repeat writes
// nothing; a failed JSON patch `test` stays a retry.
import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { DIGEST_A } from '../helpers/pipelineFixtures.js';
import { TAG, setupReconciler } from '../helpers/reconcilerHarness.js';
import { cond, message } from '../helpers/reconcilerFakes.js';

let audit = 0;
/** A 422 as client-node throws it, with fresh headers each time as the apiserver sends them. */
function invalid(kind: string, name: string, causes: string[]): ApiException<string> {
  const body = {
    kind: 'Status',
    code: 422,
    reason: 'Invalid',
    message: `${kind} "${name}" is invalid: [${causes.join(', ')}]`,
    details: { name, kind, causes: causes.map((c) => ({ field: 'spec.x', message: c })) },
  };
  return new ApiException(422, 'Unprocessable Entity', JSON.stringify(body), {
    date: new Date(Date.now() + audit).toUTCString(),
    'audit-id': `id-${++audit}`,
  });
}

describe('reconciler: objects the apiserver refuses', () => {
  it('a refused build Job stalls as ObjectRejected with the causes, and a repeat writes nothing', async () => {
    const t = setupReconciler({ realKaniko: true });
    let order = ['Required value: b', 'Invalid value: a'];
    const batch = t.batch as unknown as { createNamespacedJob: () => Promise<never> };
    batch.createNamespacedJob = async () => {
      order = [...order].reverse(); // the apiserver lists map keys in any order
      throw invalid('Job', 'churn-build-v3-x', order);
    };
    await t.reconcile();
    const s = t.status();
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'ObjectRejected' });
    expect(message(s, 'Stalled')).toBe(
      'Job "churn-build-v3-x" is invalid: spec.x: Invalid value: a; spec.x: Required value: b; fix the ModelDeployment spec',
    );
    expect(message(s, 'Stalled')).not.toMatch(/HTTP|audit|Headers/);
    expect(cond(s, 'Reconciling')).toBeUndefined();

    const writes = t.writes.length;
    const events = t.events.length;
    t.nextPoll();
    await t.reconcile();
    expect(t.writes).toHaveLength(writes);
    expect(t.events).toHaveLength(events);
  });

  it('a patch the apiserver refuses as invalid stalls; a failed patch test would retry', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    const apps = t.apps as unknown as { patchNamespacedDeployment: () => Promise<never> };
    apps.patchNamespacedDeployment = async () => {
      throw invalid('Deployment', 'api', ['Invalid value: "MODEL URI": a valid environment variable name']);
    };
    await t.reconcile();
    expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason: 'ObjectRejected' });
  });

  it('a message of any length is bounded to 1,024 characters in conditions and Events', async () => {
    const t = setupReconciler({ realKaniko: true });
    const causes = Array.from(
      { length: 300 },
      (_, i) => `Invalid value: "2": must be equal to r${i} limit of 1`,
    );
    const batch = t.batch as unknown as { createNamespacedJob: () => Promise<never> };
    batch.createNamespacedJob = async () => {
      throw invalid('Job', 'j', causes);
    };
    await t.reconcile();
    const text = message(t.status(), 'Stalled') ?? '';
    expect(text.length).toBeLessThanOrEqual(1024);
    expect(text).toMatch(/…; fix the ModelDeployment spec$/);
    for (const c of t.status().conditions ?? []) expect(c.message.length).toBeLessThanOrEqual(1024);
  });
});
