// Decision logic of the reconciler and its resolveModel step, on the shared harness of
// helpers/reconcilerHarness.ts (in-memory registry, apiserver-like status patcher, recorded
// Events) without pipeline clients.
import { describe, expect, it } from '@jest/globals';
import {
  RECONCILE_REQUESTED_ANNOTATION,
  type ModelDeployment,
} from '../../../src/api/v1alpha1/modelDeployment.js';
import { MlflowError, type MlflowErrorKind } from '../../../src/clients/mlflow.js';
import { ConditionType } from '../../../src/api/v1alpha1/conditions.js';
import { findCondition } from '../../../src/runtime/conditions.js';
import { Transient } from '../../../src/runtime/errors.js';
import { NS, modelDeployment, pipelineSpec } from '../helpers/pipelineFixtures.js';
import { INTERVAL_MS, KEY, START, setupReconciler } from '../helpers/reconcilerHarness.js';
import { cond, version } from '../helpers/reconcilerFakes.js';

const { ModelResolved: MODEL_RESOLVED, RegistryReachable: REGISTRY_REACHABLE } = ConditionType;

function newModelDeployment(model: Record<string, unknown> = { alias: 'champion' }): ModelDeployment {
  return modelDeployment({
    model: { name: 'Churn', pollInterval: '60s', ...model },
    registry: { trackingUri: 'http://mlflow:5000', timeoutSeconds: 10 },
    suspend: false,
  });
}

/** The shared harness without pipeline clients: these objects only resolve a model version. */
const setup = (md: ModelDeployment = newModelDeployment()) => setupReconciler({ md });

describe('reconciler: resolving the model version', () => {
  it('first reconcile resolves the version, writes status and records a NewModelVersion event', async () => {
    const t = setup();
    const result = await t.reconcile();

    expect(t.registry.calls).toEqual(['Churn alias:champion']);
    expect(t.writes).toHaveLength(1);
    expect(t.writes[0]?.ref).toEqual({
      group: 'mlops.healthpredict.io',
      version: 'v1alpha1',
      plural: 'modeldeployments',
      namespace: 'ml',
      name: 'churn',
    });
    expect(t.writes[0]?.resourceVersion).toBe('1');
    const status = t.status();
    expect(status.model).toEqual({
      name: 'Churn',
      version: '3',
      runId: 'run-3',
      source: 's3://models/3',
      uri: 'models:/Churn/3',
      resolvedFrom: 'alias:champion',
      resolvedAt: new Date(START).toISOString(),
    });
    expect(status.phase).toBe('Succeeded');
    expect(status.observedGeneration).toBe(1);
    expect(cond(status, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(cond(status, MODEL_RESOLVED)).toEqual({ status: 'True', reason: 'Resolved' });
    expect(cond(status, 'Reconciling')).toBeUndefined();
    expect(cond(status, 'Stalled')).toBeUndefined();
    expect(t.events).toEqual([
      {
        type: 'Normal',
        reason: 'NewModelVersion',
        message: 'Resolved version 3 of "Churn" from alias:champion',
      },
      // no Succeeded transition Event: NewModelVersion already said it
    ]);
    // next poll: one interval plus up to 10% jitter
    expect(result.requeueAfterMs).toBeGreaterThanOrEqual(INTERVAL_MS);
    expect(result.requeueAfterMs).toBeLessThanOrEqual(INTERVAL_MS * 1.1);
  });

  it('follows a stage with getLatestVersionInStage', async () => {
    const t = setup(newModelDeployment({ stage: 'Production' }));
    await t.reconcile();
    expect(t.registry.calls).toEqual(['Churn stage:Production']);
    expect(t.status().model?.resolvedFrom).toBe('stage:Production');
  });

  it('within the interval makes no registry call and no status write', async () => {
    const t = setup();
    await t.reconcile();
    t.clock.ms += 30_000;
    const result = await t.reconcile();

    expect(t.registry.calls).toHaveLength(1);
    expect(t.registryLookups()).toBe(1);
    expect(t.writes).toHaveLength(1);
    expect(t.events).toHaveLength(1);
    // come back when the interval is up
    expect(result.requeueAfterMs).toBeGreaterThanOrEqual(30_000);
    expect(result.requeueAfterMs).toBeLessThanOrEqual(30_000 + INTERVAL_MS * 0.1);
  });

  it('after the interval follows a new version and says which one it replaced', async () => {
    const t = setup();
    await t.reconcile();
    const readySince = findCondition(t.status().conditions, 'Ready')?.lastTransitionTime;
    t.registry.answer = version('4');
    t.clock.ms += INTERVAL_MS;
    await t.reconcile();

    expect(t.registry.calls).toHaveLength(2);
    expect(t.writes).toHaveLength(2);
    const status = t.status();
    expect(status.model).toMatchObject({
      version: '4',
      uri: 'models:/Churn/4',
      runId: 'run-4',
      resolvedAt: new Date(t.clock.ms).toISOString(),
    });
    expect(findCondition(status.conditions, 'Ready')).toMatchObject({
      status: 'True',
      message: 'Version 4 of "Churn" resolved from alias:champion',
      lastTransitionTime: readySince, // still Ready: no transition
    });
    expect(t.events.slice(1)).toEqual([
      {
        type: 'Normal',
        reason: 'NewModelVersion',
        message: 'Resolved version 4 of "Churn" from alias:champion (was 3)',
      },
    ]);
  });

  // The status write is a JSON merge patch: a field the new status drops inside status.model
  // must be sent as null, or the apiserver keeps the old value (the runId of version 3 would
  // stay on version 4).
  it('a new version without run id or source drops the old ones from status.model', async () => {
    const t = setup();
    await t.reconcile();
    t.registry.answer = { name: 'Churn', version: '4', status: 'READY' };
    t.clock.ms += INTERVAL_MS;
    await t.reconcile();
    expect(t.status().model).toEqual({
      name: 'Churn',
      version: '4',
      uri: 'models:/Churn/4',
      resolvedFrom: 'alias:champion',
      resolvedAt: new Date(t.clock.ms).toISOString(),
    });
  });

  it('after the interval with the same version asks the registry but writes nothing', async () => {
    const t = setup();
    await t.reconcile();
    t.clock.ms += INTERVAL_MS;
    await t.reconcile();
    expect(t.registry.calls).toHaveLength(2);
    expect(t.writes).toHaveLength(1);
    expect(t.events).toHaveLength(1);
  });

  it('polls again at once when the reconcile-requested annotation changes', async () => {
    const t = setup();
    await t.reconcile();
    t.clock.ms += 1000;
    t.md().metadata.annotations = { [RECONCILE_REQUESTED_ANNOTATION]: 'now' };
    await t.reconcile();
    expect(t.registry.calls).toHaveLength(2);
    expect(t.status().lastHandledReconcileAt).toBe('now');
    t.clock.ms += 1000;
    await t.reconcile();
    expect(t.registry.calls).toHaveLength(2); // handled: not again
  });

  it('polls again at once when the spec starts following another alias', async () => {
    const t = setup();
    await t.reconcile();
    t.clock.ms += 1000;
    t.editSpec((spec) => (spec.model.alias = 'challenger'));
    t.registry.answer = version('5');
    await t.reconcile();
    expect(t.registry.calls).toEqual(['Churn alias:champion', 'Churn alias:challenger']);
    expect(t.status().model).toMatchObject({ version: '5', resolvedFrom: 'alias:challenger' });
    expect(t.status().observedGeneration).toBe(2);
  });
});

describe('reconciler: registry errors', () => {
  it.each<{ kind: MlflowErrorKind; reason: string; model?: Record<string, unknown> }>([
    { kind: 'ModelNotFound', reason: 'ModelNotFound' },
    { kind: 'AliasNotFound', reason: 'AliasNotFound' },
    { kind: 'NoVersionInStage', reason: 'NoVersionInStage', model: { stage: 'Staging' } },
    { kind: 'Unauthorized', reason: 'RegistryUnauthorized' },
    { kind: 'BadRequest', reason: 'RegistryRequestRefused' },
  ])(
    '$kind stalls with reason $reason, phase Failed, and looks again after one poll interval',
    async ({ kind, reason, model }) => {
      const t = setup(newModelDeployment(model));
      t.registry.answer = new MlflowError(kind, `mlflow says ${kind}`);
      const result = await t.reconcile(); // no throw: no fast retry

      expect(result).toEqual({ requeueAfterMs: INTERVAL_MS });
      const status = t.status();
      expect(status.phase).toBe('Failed');
      expect(cond(status, 'Stalled')).toEqual({ status: 'True', reason });
      expect(cond(status, 'Ready')).toEqual({ status: 'False', reason });
      expect(cond(status, MODEL_RESOLVED)).toEqual({ status: 'False', reason });
      expect(cond(status, 'Reconciling')).toBeUndefined();
      expect(findCondition(status.conditions, 'Stalled')?.message).toContain(`mlflow says ${kind}`);
      expect(t.events).toEqual([
        { type: 'Warning', reason, message: expect.stringContaining(`mlflow says ${kind}`) },
      ]);

      // A stall counts as a poll: no registry call before the interval is up.
      t.clock.ms += 30_000;
      await t.reconcile();
      expect(t.registry.calls).toHaveLength(1);
      expect(t.writes).toHaveLength(1);
    },
  );

  it('recovers from a stall once the registry has the model', async () => {
    const t = setup();
    t.registry.answer = new MlflowError('ModelNotFound', 'no such model');
    await t.reconcile();
    t.registry.answer = version('1');
    t.clock.ms += INTERVAL_MS;
    await t.reconcile();

    const status = t.status();
    expect(status.phase).toBe('Succeeded');
    expect(cond(status, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(cond(status, 'Stalled')).toBeUndefined();
    expect(t.events.map((e) => `${e.type} ${e.reason}`)).toEqual([
      'Warning ModelNotFound',
      'Normal NewModelVersion', // says what Succeeded would
    ]);
  });

  it.each<MlflowErrorKind>(['Unreachable', 'ServerError'])(
    '%s throws for a backoff retry after writing ProgressingWithRetry / RegistryUnavailable',
    async (kind) => {
      const t = setup();
      t.registry.answer = new MlflowError(kind, 'cannot reach MLflow');
      await expect(t.reconcile()).rejects.toMatchObject({ name: 'Transient', reason: 'RegistryUnavailable' });

      expect(t.writes).toHaveLength(1);
      const status = t.status();
      expect(cond(status, 'Reconciling')).toEqual({ status: 'True', reason: 'ProgressingWithRetry' });
      expect(cond(status, 'Ready')).toEqual({ status: 'False', reason: 'RegistryUnavailable' });
      expect(cond(status, 'Stalled')).toBeUndefined();
      expect(status.phase).toBe('Resolving');
      expect(t.events).toEqual([
        { type: 'Warning', reason: 'RegistryUnavailable', message: 'cannot reach MLflow' },
      ]);

      // The backoff retry polls again (the failure was no verdict).
      t.registry.answer = version('3');
      t.clock.ms += 1000;
      await t.reconcile();
      expect(t.registry.calls).toHaveLength(2);
      expect(cond(t.status(), 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
      expect(cond(t.status(), 'Reconciling')).toBeUndefined();
    },
  );

  it('keeps the cause of a transient registry error', async () => {
    const t = setup();
    const cause = new MlflowError('InvalidResponse', 'not JSON');
    t.registry.answer = cause;
    const err = await t.reconcile().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Transient);
    expect((err as Transient).reason).toBe('RegistryInvalidResponse');
    expect((err as Transient).cause).toBe(cause);
  });

  it('a version that is not READY yet waits 10s without throwing', async () => {
    const t = setup();
    t.registry.answer = new MlflowError('VersionNotReady', 'version 3 is PENDING_REGISTRATION');
    const result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 10_000 });
    expect(cond(t.status(), 'Reconciling')).toEqual({ status: 'True', reason: 'VersionNotReady' });
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'VersionNotReady' });
    expect(t.events).toEqual([
      { type: 'Normal', reason: 'VersionNotReady', message: 'version 3 is PENDING_REGISTRATION' },
    ]);
  });

  it('a non-MLflow error is retried with the generic reason', async () => {
    const t = setup();
    t.registry.answer = new Error('socket hang up') as MlflowError;
    await expect(t.reconcile()).rejects.toThrow('socket hang up');
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'ReconcileError' });
    expect(cond(t.status(), 'Reconciling')).toEqual({ status: 'True', reason: 'ProgressingWithRetry' });
  });

  // A transient failure must not use up what triggered the poll: the backoff retry has to ask
  // the registry again. Today the failed reconcile writes observedGeneration /
  // lastHandledReconcileAt, so the retry finds no reason to poll, returns idle, and the object
  // stays "ProgressingWithRetry" until the poll interval elapses.
  it.each<{ name: string; trigger: (t: ReturnType<typeof setup>) => void }>([
    { name: 'a spec change', trigger: (t) => t.editSpec((spec) => (spec.registry.timeoutSeconds = 20)) },
    {
      name: 'a reconcile request',
      trigger: (t) =>
        (t.md().metadata.annotations = { [RECONCILE_REQUESTED_ANNOTATION]: '2025-01-01T00:00:10Z' }),
    },
  ])(
    'an outage under a resolved version, polled for $name: Ready stays, the poll is retried with backoff',
    async ({ trigger }) => {
      const t = setup();
      await t.reconcile();
      t.clock.ms += 10_000;
      trigger(t);
      t.registry.answer = new MlflowError('Unreachable', 'cannot reach MLflow');
      expect(await t.reconcile()).toEqual({ requeueAfterMs: 1000 }); // no throw: nothing to retry fast
      expect(t.registry.calls).toHaveLength(2);
      expect(cond(t.status(), 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
      expect(cond(t.status(), REGISTRY_REACHABLE)).toEqual({
        status: 'False',
        reason: 'RegistryUnavailable',
      });
      expect(t.status().phase).toBe('Succeeded');

      await t.reconcile(); // woken early (a watch event): still backing off, MLflow is not asked
      expect(t.registry.calls).toHaveLength(2);
      t.clock.ms += 1000;
      expect(await t.reconcile()).toEqual({ requeueAfterMs: 2000 }); // second failure: twice as long
      expect(t.registry.calls).toHaveLength(3);

      t.registry.answer = version('3');
      t.clock.ms += 2000; // the backoff retry
      await t.reconcile();
      expect(t.registry.calls).toHaveLength(4);
      expect(cond(t.status(), 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
      expect(cond(t.status(), REGISTRY_REACHABLE)).toEqual({ status: 'True', reason: 'RegistryAnswered' });
      expect(t.eventReasons().filter((r) => r === 'RegistryUnavailable')).toHaveLength(1); // once
    },
  );
});

describe('reconciler: nothing to ask the registry', () => {
  it('an invalid spec (stage and alias) stalls with InvalidSpec without calling the registry', async () => {
    const t = setup(newModelDeployment({ stage: 'Production', alias: 'champion' }));
    const result = await t.reconcile();

    expect(t.registryLookups()).toBe(0);
    expect(t.registry.calls).toEqual([]);
    expect(result).toEqual({ requeueAfterMs: INTERVAL_MS });
    const status = t.status();
    expect(status.phase).toBe('Failed');
    expect(cond(status, 'Stalled')).toEqual({ status: 'True', reason: 'InvalidSpec' });
    expect(cond(status, 'Ready')).toEqual({ status: 'False', reason: 'InvalidSpec' });
    expect(findCondition(status.conditions, 'Stalled')?.message).toContain(
      'spec.model: exactly one of spec.model.stage or spec.model.alias',
    );
    expect(t.events).toEqual([
      { type: 'Warning', reason: 'InvalidSpec', message: expect.stringContaining('fix the ModelDeployment') },
    ]);
  });

  it('an invalid pollInterval stalls and falls back to 60s for the next look', async () => {
    const t = setup(newModelDeployment({ alias: 'champion', pollInterval: 'soon' }));
    const result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 60_000 });
    expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason: 'InvalidSpec' });
    expect(t.registry.calls).toEqual([]);
  });

  it('a suspended object gets no registry call, no status write and no event', async () => {
    const md = newModelDeployment();
    md.spec.suspend = true;
    const t = setup(md);
    await expect(t.reconcile()).resolves.toEqual({});
    expect(t.registryLookups()).toBe(0);
    expect(t.writes).toEqual([]);
    expect(t.events).toEqual([]);
  });

  it('an object being deleted is left alone', async () => {
    const md = newModelDeployment();
    md.metadata.deletionTimestamp = new Date(START);
    const t = setup(md);
    await expect(t.reconcile()).resolves.toEqual({});
    expect(t.registryLookups()).toBe(0);
    expect(t.writes).toEqual([]);
  });

  it('a deleted object forgets its poll time', async () => {
    const t = setup();
    await t.reconcile();
    expect(t.polls.get(KEY)).toBe(START);
    t.store.delete(KEY);
    await expect(t.reconcile()).resolves.toEqual({});
    expect(t.polls.get(KEY)).toBeUndefined();
  });
});

describe('reconciler: status write failures', () => {
  it.each([
    { name: '409 Conflict requeues soon', code: 409, result: { requeueAfterMs: 500 } },
    { name: '404 Not Found is done', code: 404, result: {} },
  ])('$name', async ({ code, result }) => {
    const t = setup();
    t.failPatchWith(Object.assign(new Error('kube'), { code }));
    await expect(t.reconcile()).resolves.toEqual(result);
    expect(t.events).toEqual([]);
  });

  it('other write errors are thrown for a retry', async () => {
    const t = setup();
    t.failPatchWith(Object.assign(new Error('apiserver down'), { code: 500 }));
    await expect(t.reconcile()).rejects.toThrow('apiserver down');
    expect(t.events).toEqual([]);
  });
});

describe('a name an older CRD let in', () => {
  it('stalls with InvalidSpec: its children could carry no label', async () => {
    const name = `n${'x'.repeat(63)}`;
    const t = setupReconciler({ md: modelDeployment(pipelineSpec(), { name }) });
    t.store.set(`${NS}/${name}`, t.md()); // the status write goes to the object's own key
    await t.reconcile();
    const stalled = findCondition(t.status().conditions, 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(stalled?.message).toContain('metadata.name must be at most 63 characters');
    expect(t.registry.calls).toEqual([]); // nothing was asked of MLflow
  });
});
