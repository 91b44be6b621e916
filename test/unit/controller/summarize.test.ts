import { describe, expect, it } from '@jest/globals';
import type { ModelDeploymentStatus, Phase } from '../../../src/api/v1alpha1/modelDeployment.js';
import { summarize, transitionEvents, type Outcome } from '../../../src/controller/summarize.js';
import { type Condition, findCondition } from '../../../src/runtime/conditions.js';

const T0 = new Date('2025-01-01T00:00:00.000Z');
const T1 = new Date('2025-01-01T00:05:00.000Z');

const c = (type: string, status: Condition['status'], reason: string, at = T0): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  observedGeneration: 1,
  lastTransitionTime: at.toISOString(),
});

// A status that carries every kstatus condition plus a step condition, so each outcome has
// something to keep, set and remove.
const messy: ModelDeploymentStatus = {
  observedGeneration: 1,
  phase: 'Resolving',
  conditions: [
    c('ModelResolved', 'True', 'Resolved'),
    c('Stalled', 'True', 'Old'),
    c('Ready', 'False', 'Old'),
    c('Reconciling', 'True', 'Old'),
  ],
};

const run = (outcome: Outcome, status: ModelDeploymentStatus = messy, activePhase: Phase = 'Resolving') =>
  summarize({ status, outcome, activePhase, generation: 2, now: T1 });

describe('summarize', () => {
  interface Row {
    outcome: Outcome;
    ready: [Condition['status'], string];
    reconciling: [Condition['status'], string] | null;
    stalled: [Condition['status'], string] | null;
    phase: Phase;
  }
  it.each<Row>([
    {
      outcome: { kind: 'succeeded', message: 'all good' },
      ready: ['True', 'Succeeded'],
      reconciling: null,
      stalled: null,
      phase: 'Succeeded',
    },
    {
      outcome: { kind: 'progressing', reason: 'VersionNotReady', message: 'wait' },
      ready: ['False', 'VersionNotReady'],
      reconciling: ['True', 'VersionNotReady'],
      stalled: null,
      phase: 'Resolving',
    },
    {
      outcome: { kind: 'retrying', reason: 'RegistryUnavailable', message: 'down' },
      ready: ['False', 'RegistryUnavailable'],
      reconciling: ['True', 'ProgressingWithRetry'],
      stalled: null,
      phase: 'Resolving',
    },
    {
      outcome: { kind: 'stalled', reason: 'ModelNotFound', message: 'fix it' },
      ready: ['False', 'ModelNotFound'],
      reconciling: null,
      stalled: ['True', 'ModelNotFound'],
      phase: 'Failed',
    },
  ])('$outcome.kind → Ready $ready, Reconciling $reconciling, Stalled $stalled, phase $phase', (row) => {
    const out = run(row.outcome);
    const pick = (type: string) => {
      const found = findCondition(out.conditions, type);
      return found ? [found.status, found.reason] : null;
    };
    expect(pick('Ready')).toEqual(row.ready);
    expect(pick('Reconciling')).toEqual(row.reconciling);
    expect(pick('Stalled')).toEqual(row.stalled);
    expect(out.phase).toBe(row.phase);
    expect(out.observedGeneration).toBe(2);
    // the step's own condition is kept untouched, after the kstatus ones
    expect(out.conditions?.at(-1)).toEqual(c('ModelResolved', 'True', 'Resolved'));
    const kstatus = out.conditions?.map((x) => x.type).filter((t) => t !== 'ModelResolved');
    expect(kstatus).toEqual(['Ready', 'Reconciling', 'Stalled'].filter((t) => pick(t) !== null));
    for (const t of kstatus ?? []) expect(findCondition(out.conditions, t)?.observedGeneration).toBe(2);
  });

  it.each<[Outcome, string]>([
    [{ kind: 'succeeded', message: 'all good' }, 'all good'],
    [{ kind: 'retrying', reason: 'RegistryUnavailable', message: 'down' }, 'down'],
    [{ kind: 'stalled', reason: 'ModelNotFound', message: 'fix it' }, 'fix it'],
  ])('carries the outcome message into Ready (%p)', (outcome, message) => {
    expect(findCondition(run(outcome).conditions, 'Ready')?.message).toBe(message);
  });

  it('progressing uses the phase of the step that was running', () => {
    expect(run({ kind: 'progressing', reason: 'Building', message: 'm' }, messy, 'Building').phase).toBe(
      'Building',
    );
  });

  it('keeps lastTransitionTime of a condition whose status did not flip', () => {
    const status: ModelDeploymentStatus = {
      conditions: [c('Ready', 'False', 'A'), c('Stalled', 'True', 'A')],
    };
    const out = run({ kind: 'stalled', reason: 'B', message: 'b' }, status);
    expect(findCondition(out.conditions, 'Ready')?.lastTransitionTime).toBe(T0.toISOString());
    expect(findCondition(out.conditions, 'Stalled')?.lastTransitionTime).toBe(T0.toISOString());
    const flipped = run({ kind: 'succeeded', message: 'ok' }, status);
    expect(findCondition(flipped.conditions, 'Ready')?.lastTransitionTime).toBe(T1.toISOString());
  });

  it('works on an empty status', () => {
    const out = run({ kind: 'succeeded', message: 'ok' }, {});
    expect(out.conditions?.map((x) => x.type)).toEqual(['Ready']);
    expect(out.phase).toBe('Succeeded');
  });

  it('idle keeps the conditions and phase and only records the generation', () => {
    const out = run({ kind: 'idle' });
    expect(out.conditions).toEqual(messy.conditions);
    expect(out.phase).toBe(messy.phase);
    expect(out.observedGeneration).toBe(2);
  });

  it('idle without a generation keeps the observed one', () => {
    const out = summarize({
      status: messy,
      outcome: { kind: 'idle' },
      activePhase: 'Pending',
      generation: undefined,
      now: T1,
    });
    expect(out).toEqual(messy);
  });

  it('does not mutate its input status', () => {
    const snapshot = structuredClone(messy);
    run({ kind: 'succeeded', message: 'ok' });
    run({ kind: 'stalled', reason: 'X', message: 'x' });
    expect(messy).toEqual(snapshot);
  });
});

describe('transitionEvents', () => {
  const empty: ModelDeploymentStatus = {};
  const succeeded = run({ kind: 'succeeded', message: 'Version 3 resolved' }, empty);
  const stalled = run({ kind: 'stalled', reason: 'ModelNotFound', message: 'no model' }, succeeded);
  const stalledOther = run({ kind: 'stalled', reason: 'AliasNotFound', message: 'no alias' }, stalled);
  const retrying = run({ kind: 'retrying', reason: 'RegistryUnavailable', message: 'down' }, succeeded);
  const retryingAgain = run(
    { kind: 'retrying', reason: 'RegistryUnavailable', message: 'still down' },
    retrying,
  );
  const progressing = run({ kind: 'progressing', reason: 'VersionNotReady', message: 'pending' }, succeeded);
  const recovered = run({ kind: 'succeeded', message: 'Version 3 resolved' }, stalled);

  it.each<{
    name: string;
    before: ModelDeploymentStatus | undefined;
    after: ModelDeploymentStatus;
    events: unknown[];
  }>([
    {
      name: 'first verdict (no status before)',
      before: undefined,
      after: succeeded,
      events: [{ type: 'Normal', reason: 'Succeeded', message: 'Version 3 resolved' }],
    },
    {
      name: 'first verdict (empty status before)',
      before: empty,
      after: succeeded,
      events: [{ type: 'Normal', reason: 'Succeeded', message: 'Version 3 resolved' }],
    },
    { name: 'unchanged', before: succeeded, after: structuredClone(succeeded), events: [] },
    {
      name: 'succeeded → stalled',
      before: succeeded,
      after: stalled,
      events: [{ type: 'Warning', reason: 'ModelNotFound', message: 'no model' }],
    },
    {
      name: 'stalled with a new reason',
      before: stalled,
      after: stalledOther,
      events: [{ type: 'Warning', reason: 'AliasNotFound', message: 'no alias' }],
    },
    {
      name: 'succeeded → retrying',
      before: succeeded,
      after: retrying,
      events: [{ type: 'Warning', reason: 'RegistryUnavailable', message: 'down' }],
    },
    { name: 'retrying again, only the message changed', before: retrying, after: retryingAgain, events: [] },
    {
      name: 'succeeded → progressing',
      before: succeeded,
      after: progressing,
      events: [{ type: 'Normal', reason: 'VersionNotReady', message: 'pending' }],
    },
    {
      name: 'stalled → succeeded',
      before: stalled,
      after: recovered,
      events: [{ type: 'Normal', reason: 'Succeeded', message: 'Version 3 resolved' }],
    },
    { name: 'no Ready condition', before: undefined, after: { phase: 'Pending' }, events: [] },
    {
      name: 'phase change alone: Ready as it was, no news',
      before: { ...succeeded, phase: 'Resolving' },
      after: succeeded,
      events: [],
    },
  ])('$name', ({ before, after, events }) => {
    expect(transitionEvents(before, after)).toEqual(events);
  });
});
