// resolveModel on its own: MLflow's answer and the status before → the step's result, the
// ModelResolved condition and the poll record after. When to poll is policies/shouldPoll.ts.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { MlflowError, type MlflowErrorKind } from '../../../../src/clients/mlflow.js';
import {
  PollTracker,
  type ModelRegistry,
  type ReconcileContext,
} from '../../../../src/controller/context.js';
import { resolveModel } from '../../../../src/controller/steps/resolveModel.js';
import { findCondition } from '../../../../src/runtime/conditions.js';
import { Stalling, Transient } from '../../../../src/runtime/errors.js';
import { deferred, flushMicrotasks } from '../../helpers/async.js';
import { version } from '../../helpers/reconcilerFakes.js';
import { KEY, setupReconciler } from '../../helpers/reconcilerHarness.js';

function given() {
  const t = setupReconciler();
  return { t, ctx: t.stepContext() };
}

const resolved = (ctx: ReturnType<typeof given>['ctx']) => {
  const c = findCondition(ctx.status.conditions, ConditionType.ModelResolved);
  return c && [c.status, c.reason];
};

describe('resolveModel', () => {
  it('a version: handed to the next step, recorded, announced, and counted as a poll', async () => {
    const { t, ctx } = given();
    const out = await resolveModel(ctx);
    expect(out).toEqual({ kind: 'next', value: ctx.status.model });
    expect(ctx.status.model).toMatchObject({
      version: '3',
      uri: 'models:/Churn/3',
      resolvedFrom: 'alias:champion',
    });
    expect(resolved(ctx)).toEqual(['True', 'Resolved']);
    expect(ctx.events.map((e) => e.reason)).toEqual(['NewModelVersion']);
    expect(t.polls.get(KEY)).toBe(ctx.now.getTime());
    expect(ctx.phase).toBe('Resolving');
  });

  it.each([
    ['ModelNotFound', Stalling, 'ModelNotFound', true],
    ['AliasNotFound', Stalling, 'AliasNotFound', true],
    ['Unauthorized', Stalling, 'RegistryUnauthorized', true],
    ['BadRequest', Stalling, 'RegistryRequestRefused', true],
    ['Unreachable', Transient, 'RegistryUnavailable', false],
    ['ServerError', Transient, 'RegistryUnavailable', false],
    ['InvalidResponse', Transient, 'RegistryInvalidResponse', false],
  ] as const)('MLflow says %s: thrown as %p with reason %s', async (kind, type, reason, countsAsPoll) => {
    const { t, ctx } = given();
    t.registry.answer = new MlflowError(kind as MlflowErrorKind, 'no luck');
    await expect(resolveModel(ctx)).rejects.toThrow(type);
    expect(resolved(ctx)).toEqual(['False', reason]);
    expect(t.polls.get(KEY) !== undefined).toBe(countsAsPoll);
  });

  it('a version MLflow is still registering is waited for, not thrown', async () => {
    const { t, ctx } = given();
    t.registry.answer = new MlflowError('VersionNotReady', 'version 3 is PENDING_REGISTRATION');
    expect(await resolveModel(ctx)).toEqual({
      kind: 'wait',
      reason: 'VersionNotReady',
      message: 'version 3 is PENDING_REGISTRATION',
      requeueAfterMs: 10_000,
    });
    expect(resolved(ctx)).toEqual(['False', 'VersionNotReady']);
    expect(t.polls.get(KEY)).toBeUndefined();
  });

  it('not due and resolved before: the recorded version goes on, without asking MLflow', async () => {
    const { t, ctx } = given();
    await resolveModel(ctx);
    const again = t.stepContext(ctx.status);
    again.md.status = ctx.status;
    again.status.observedGeneration = again.md.metadata.generation;
    t.registry.answer = version('4');
    expect(await resolveModel(again)).toEqual({ kind: 'next', value: ctx.status.model });
    expect(t.registry.calls).toHaveLength(1);
  });

  it('not due and never resolved: idle until the next poll', async () => {
    const { t, ctx } = given();
    t.registry.answer = new MlflowError('ModelNotFound', 'no model');
    await expect(resolveModel(ctx)).rejects.toThrow(Stalling);
    const again = t.stepContext(ctx.status);
    again.status.observedGeneration = again.md.metadata.generation;
    const out = await resolveModel(again);
    expect(out.kind).toBe('idle');
    expect(t.registry.calls).toHaveLength(1);
  });
});

/** A context whose registry answers only when the test says so, with a 10 ms budget. */
function slowRegistry(ctx: ReconcileContext) {
  const answer = deferred<ReturnType<typeof version>>();
  const woken: string[] = [];
  let asked = 0;
  const registry: ModelRegistry = {
    getVersionByAlias: () => {
      asked++;
      return answer.promise;
    },
    getLatestVersionInStage: () => answer.promise,
    getVersion: () => answer.promise,
    getRunMetrics: async () => ({}),
    setVersionTag: async () => undefined,
    setAlias: async () => undefined,
  };
  const polls = new PollTracker({ budgetMs: 10, wake: (k) => woken.push(k), now: () => ctx.now.getTime() });
  const withDeps = (c: ReconcileContext): ReconcileContext => ({
    ...c,
    deps: { ...c.deps, polls, registryFor: async () => registry },
  });
  return { ctx: withDeps(ctx), withDeps, answer, woken, polls, asked: () => asked };
}

const reachable = (ctx: ReconcileContext) => {
  const c = findCondition(ctx.status.conditions, ConditionType.RegistryReachable);
  return c && [c.status, c.reason];
};

/** Status after version 3 was resolved and deployed. */
async function deployed() {
  const { t, ctx } = given();
  await resolveModel(ctx);
  ctx.status.currentRun = { version: '3', specHash: 'h', startedAt: 'x', result: 'Succeeded' };
  return { t, status: ctx.status };
}

describe('resolveModel: the registry is slow or away', () => {
  it('an answer sets RegistryReachable=True', async () => {
    const { ctx } = given();
    await resolveModel(ctx);
    expect(reachable(ctx)).toEqual(['True', 'RegistryAnswered']);
    expect(findCondition(ctx.status.conditions, ConditionType.RegistryReachable)?.message).toBe(
      'MLflow at http://mlflow:5000 answered the last poll',
    );
  });

  it('slow, nothing resolved yet: waits (RegistrySlow), the answer wakes the object and is taken', async () => {
    const { t } = given();
    const slow = slowRegistry(t.stepContext());
    const out = await resolveModel(slow.ctx);
    expect(out).toMatchObject({ kind: 'wait', reason: 'RegistrySlow', requeueAfterMs: 11_000 });
    expect(reachable(slow.ctx)).toEqual(['False', 'RegistrySlow']);

    slow.answer.resolve(version('5'));
    await flushMicrotasks();
    expect(slow.woken).toEqual([KEY]);
    const again = slow.withDeps(t.stepContext(slow.ctx.status));
    again.status.observedGeneration = again.md.metadata.generation; // written by the first reconcile
    expect(await resolveModel(again)).toMatchObject({ kind: 'next', value: { version: '5' } });
    expect(reachable(again)).toEqual(['True', 'RegistryAnswered']);
    expect(slow.asked()).toBe(1);
  });

  it('slow with a version resolved before: goes on with it, RegistryReachable=False says what is served', async () => {
    const { t, status } = await deployed();
    const slow = slowRegistry(t.stepContext(status));
    const out = await resolveModel(slow.ctx);
    expect(out).toEqual({ kind: 'next', value: status.model });
    expect(reachable(slow.ctx)).toEqual(['False', 'RegistrySlow']);
    expect(findCondition(slow.ctx.status.conditions, ConditionType.RegistryReachable)?.message).toContain(
      'the Deployment "churn-api" keeps serving version 3',
    );
    expect(resolved(slow.ctx)).toEqual(['True', 'Resolved']);
  });

  it('unreachable with a version resolved before: goes on, one Warning, polled again after 1 s', async () => {
    const { t, status } = await deployed();
    const ctx = t.stepContext(status);
    t.registry.answer = new MlflowError('Unreachable', 'cannot reach MLflow at http://mlflow:5000');
    expect(await resolveModel(ctx)).toEqual({ kind: 'next', value: status.model });
    expect(reachable(ctx)).toEqual(['False', 'RegistryUnavailable']);
    expect(ctx.requeueAfterMs).toBe(1000);
    expect(ctx.events).toEqual([
      {
        type: 'Warning',
        reason: 'RegistryUnavailable',
        message:
          'cannot reach MLflow at http://mlflow:5000; the Deployment "churn-api" keeps serving version 3; polled again with backoff',
      },
    ]);
    expect(t.polls.requests.failureCount(KEY)).toBe(1);
  });

  it('the alias is gone while version 3 is served: Stalling that names the version and what to do', async () => {
    const { t, status } = await deployed();
    const ctx = t.stepContext(status);
    t.registry.answer = new MlflowError(
      'AliasNotFound',
      'MLflow has no alias "champion" on registered model "Churn"',
    );
    await expect(resolveModel(ctx)).rejects.toThrow(
      new Stalling(
        'AliasNotFound',
        'MLflow has no alias "champion" on registered model "Churn"; the Deployment "churn-api" keeps serving ' +
          'version 3 (nothing was removed); set the alias in MLflow or fix spec.model.alias',
      ),
    );
    expect(reachable(ctx)).toEqual(['True', 'RegistryAnswered']);
  });
});

describe('resolveModel: an outage right after the spec follows another alias', () => {
  it('does not go on with the version of the old alias', async () => {
    const { t, status } = await deployed();
    t.editSpec((spec) => (spec.model.alias = 'challenger'));
    const ctx = t.stepContext(status);
    t.registry.answer = new MlflowError('Unreachable', 'cannot reach MLflow');
    await expect(resolveModel(ctx)).rejects.toThrow(Transient);
    expect(resolved(ctx)).toEqual(['False', 'RegistryUnavailable']);
  });
});

describe('resolveModel: followers of one model share MLflow answers', () => {
  /** A second object `name` in `namespace` with the same spec, on the same deps. */
  const follower = (ctx: ReconcileContext, namespace: string, name: string, secret?: string) => {
    const md = structuredClone(ctx.md);
    md.metadata = { ...md.metadata, namespace, name };
    const spec = structuredClone(ctx.spec);
    if (secret) spec.registry.credentialsSecretRef = { name: secret };
    return { ...ctx, key: `${namespace}/${name}`, md, spec, status: {} };
  };

  it('a second follower takes the first one’s answer: one request for both', async () => {
    const { t, ctx } = given();
    await resolveModel(ctx);
    const other = follower(ctx, 'ml', 'churn-2');
    expect(await resolveModel(other)).toMatchObject({ kind: 'next', value: { version: '3' } });
    expect(t.registry.calls).toHaveLength(1);
    expect(t.polls.get(other.key)).toBe(t.polls.get(KEY)); // its poll counts from the shared answer
  });

  it('credentials from a Secret are never shared across namespaces: each asks for itself', async () => {
    const { t, ctx } = given();
    await resolveModel(follower(ctx, 'team-a', 'churn', 'mlflow-creds'));
    await resolveModel(follower(ctx, 'team-b', 'churn', 'mlflow-creds'));
    await resolveModel(follower(ctx, 'team-a', 'churn-2', 'mlflow-creds')); // same Secret: shared
    expect(t.registry.calls).toHaveLength(2);
  });

  it('a spec change asks MLflow afresh even when another follower just got an answer', async () => {
    const { t, ctx } = given();
    await resolveModel(ctx);
    const changed = follower(ctx, 'ml', 'churn-2');
    changed.md.metadata.generation = 2;
    changed.status = { observedGeneration: 1 };
    t.polls.record(changed.key, ctx.now.getTime()); // polled before: only the spec change is due
    await resolveModel(changed);
    expect(t.registry.calls).toHaveLength(2);
  });
});
