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
  /** After failed polls (MLflow unreachable, 5xx): no routine poll before this time. */
  retryAtMs?: number | undefined;
}

const backingOff = (i: PollInput) => i.retryAtMs !== undefined && i.nowMs < i.retryAtMs;

// The routine polls (first, interval) wait out a failure backoff; a spec change or a requested
// reconcile does not.
const neverPolled: Policy<PollInput> = (i) =>
  i.lastPolledAtMs === undefined && !backingOff(i)
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
  i.lastPolledAtMs !== undefined && i.nowMs - i.lastPolledAtMs >= i.intervalMs && !backingOff(i)
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
export function nextPollInMs(
  input: Pick<PollInput, 'nowMs' | 'lastPolledAtMs' | 'intervalMs' | 'retryAtMs'>,
): number {
  const due = input.lastPolledAtMs === undefined ? input.nowMs : input.lastPolledAtMs + input.intervalMs;
  return Math.max(0, due - input.nowMs, (input.retryAtMs ?? 0) - input.nowMs);
}

/** How long to wait before polling again after `failures` failed polls in a row: 1 s, doubling,
 * never longer than the poll interval (an outage is noticed no later than a routine poll). */
export function pollRetryMs(failures: number, intervalMs: number, baseMs = 1000): number {
  return Math.min(intervalMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}
