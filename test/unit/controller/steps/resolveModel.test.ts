// resolveModel on its own: MLflow's answer and the status before → the step's result, the
// ModelResolved condition and the poll record after. When to poll is policies/shouldPoll.ts.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { MlflowError, type MlflowErrorKind } from '../../../../src/clients/mlflow.js';
import { resolveModel } from '../../../../src/controller/steps/resolveModel.js';
import { findCondition } from '../../../../src/runtime/conditions.js';
import { Stalling, Transient } from '../../../../src/runtime/errors.js';
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
