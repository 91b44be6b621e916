// Should this reconcile ask MLflow for the current version? Pure; table-tested.
import { firstReason, type Policy } from './policy.js';

export interface PollInput {
  nowMs: number;
  /** Last poll that reached a verdict (success or a problem the user must fix), this process only. */
  lastPolledAtMs: number | undefined;
  intervalMs: number;
  generation: number | undefined;
  observedGeneration: number | undefined;
  reconcileRequestedAt: string | undefined;
  lastHandledReconcileAt: string | undefined;
  /** What the spec follows now vs. what the status was resolved from (`stage:X` / `alias:Y`, model name). */
  followed: { name: string; ref: string };
  resolved: { name: string; ref: string } | undefined;
}

const neverPolled: Policy<PollInput> = (i) =>
  i.lastPolledAtMs === undefined
    ? { reason: 'FirstPoll', message: 'no poll yet by this operator process' }
    : null;

const specChanged: Policy<PollInput> = (i) =>
  i.generation !== i.observedGeneration
    ? {
        reason: 'SpecChanged',
        message: `generation ${i.generation} not yet observed (last ${i.observedGeneration ?? 'none'})`,
      }
    : null;

const modelRefChanged: Policy<PollInput> = (i) =>
  i.resolved && (i.resolved.name !== i.followed.name || i.resolved.ref !== i.followed.ref)
    ? { reason: 'ModelRefChanged', message: `now following ${i.followed.name} ${i.followed.ref}` }
    : null;

const reconcileRequested: Policy<PollInput> = (i) =>
  i.reconcileRequestedAt !== undefined && i.reconcileRequestedAt !== i.lastHandledReconcileAt
    ? { reason: 'ReconcileRequested', message: `reconcile requested at ${i.reconcileRequestedAt}` }
    : null;

const intervalElapsed: Policy<PollInput> = (i) =>
  i.lastPolledAtMs !== undefined && i.nowMs - i.lastPolledAtMs >= i.intervalMs
    ? {
        reason: 'IntervalElapsed',
        message: `last poll ${Math.round((i.nowMs - i.lastPolledAtMs) / 1000)}s ago`,
      }
    : null;

export const shouldPollChain: readonly Policy<PollInput>[] = [
  neverPolled,
  specChanged,
  modelRefChanged,
  reconcileRequested,
  intervalElapsed,
];

export const shouldPoll = (input: PollInput) => firstReason(shouldPollChain, input);

/** Milliseconds until the next poll is due (0 when due now). */
export function nextPollInMs(input: Pick<PollInput, 'nowMs' | 'lastPolledAtMs' | 'intervalMs'>): number {
  if (input.lastPolledAtMs === undefined) return 0;
  return Math.max(0, input.lastPolledAtMs + input.intervalMs - input.nowMs);
}
