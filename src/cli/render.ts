// The views of `get` and `history`: pure functions of the object and "now". A frame has no blank
// line inside, so frames printed one after another (get --watch into a pipe) are told apart by
// the blank line between them.
import { ConditionType, RunResult } from '../api/v1alpha1/conditions.js';
import { followedRef, type ModelDeployment, type Phase } from '../api/v1alpha1/modelDeployment.js';
import type { Run } from '../api/v1alpha1/pipeline.js';
import { ago, columns, humanDuration, oneLine, shortImage, timeOf } from './format.js';
import { runSteps, SYMBOL } from './steps.js';

/** Runs the get view lists; `history` lists them all. */
export const RECENT_RUNS = 5;
const STEP_MESSAGE_WIDTH = 100;
const READY_MESSAGE_WIDTH = 300;
const HISTORY_MESSAGE_WIDTH = 80;

const DONE_PHASES: readonly Phase[] = ['Succeeded'];
const FAILED_PHASES: readonly Phase[] = ['Failed', 'RolledBack'];

export function phaseSymbol(phase: Phase | undefined): string {
  if (phase && DONE_PHASES.includes(phase)) return SYMBOL.done;
  if (phase && FAILED_PHASES.includes(phase)) return SYMBOL.failed;
  return SYMBOL.waiting;
}

export function renderGet(md: ModelDeployment, now: Date): string {
  const { metadata, spec, status } = md;
  const fields: [string, string][] = [
    ['Name', metadata.name],
    ['Namespace', metadata.namespace],
    ['Model', `${spec.model.name} (${followedRef(spec.model)})`],
    ['Phase', `${phaseSymbol(status?.phase)} ${status?.phase ?? 'Pending'}`],
    ['Version', status?.model?.version ?? '-'],
    [
      'Serving',
      status?.serving
        ? `${status.serving.version}  since ${ago(status.serving.since, now)}  ${status.serving.image}`
        : '-',
    ],
    ['Stable', status?.stable ? `${status.stable.version}  since ${ago(status.stable.since, now)}` : '-'],
  ];
  const ready = status?.conditions?.find((c) => c.type === ConditionType.Ready);
  if (ready?.message) fields.push(['Message', oneLine(ready.message, READY_MESSAGE_WIDTH)]);
  if (status?.currentRun) fields.push(['Run', describeRun(status.currentRun, now)]);
  const history = (status?.history ?? []).slice(0, RECENT_RUNS);
  if (history.length === 0) fields.push(['History', 'none yet']);
  const lines = columns(fields.map(([k, v]) => [`${k}:`, v]));

  const steps = runSteps(status, now);
  if (steps.length > 0) {
    lines.push('Steps:');
    lines.push(
      ...columns(
        steps.map((s) => [
          `${SYMBOL[s.state]} ${s.step}`,
          s.reason,
          s.durationMs === undefined ? '' : humanDuration(s.durationMs),
          oneLine(s.message, STEP_MESSAGE_WIDTH),
        ]),
        '  ',
      ),
    );
  }

  if (history.length > 0) {
    lines.push(`History (last ${history.length}):`);
    lines.push(
      ...columns(
        [
          ['VERSION', 'RESULT', 'REASON', 'FINISHED', 'IMAGE'],
          ...history.map((r) => [
            r.version,
            r.result ?? '-',
            r.reason ?? '-',
            ago(r.finishedAt, now),
            shortImage(r.image),
          ]),
        ],
        '  ',
      ),
    );
  }
  return lines.join('\n') + '\n';
}

/** "version 4, started 12m ago, RolledBack (TestsFailed) after 3m20s, back on version 2". */
export function describeRun(run: Run, now: Date): string {
  const parts = [`version ${run.version}`, `started ${ago(run.startedAt, now)}`];
  const started = timeOf(run.startedAt);
  const finished = timeOf(run.finishedAt);
  if (run.result === undefined) parts.push('in progress');
  else {
    const why = run.reason ? ` (${run.reason})` : '';
    const took =
      started !== undefined && finished !== undefined ? ` after ${humanDuration(finished - started)}` : '';
    parts.push(`${run.result}${why}${took}`);
  }
  if (run.rollback) parts.push(`back on version ${run.rollback.toVersion}`);
  return parts.join(', ');
}

/** Shown by get --watch while the object is gone (it may be created again). */
export function renderGone(namespace: string, name: string): string {
  return `modeldeployment "${name}" in namespace "${namespace}" was deleted; waiting for it to come back\n`;
}

/** Every run in status.history, newest first, with the run in progress on top. */
export function renderHistory(md: ModelDeployment, now: Date): string | undefined {
  const { status } = md;
  const current = status?.currentRun;
  const runs = [...(current && current.result === undefined ? [current] : []), ...(status?.history ?? [])];
  if (runs.length === 0) return undefined;
  const failed = new Set<string>([RunResult.Failed, RunResult.RolledBack]);
  const rows = runs.map((r) => [
    r.version,
    r.result ?? 'InProgress',
    // The run in progress has no reason yet: where it is says more.
    r.reason ?? (r.result === undefined ? (status?.phase ?? '-') : '-'),
    ago(r.startedAt, now),
    ago(r.finishedAt, now),
    shortImage(r.image),
    r.result && failed.has(r.result) ? oneLine(r.message, HISTORY_MESSAGE_WIDTH) : '',
  ]);
  return (
    columns([['VERSION', 'RESULT', 'REASON', 'STARTED', 'FINISHED', 'IMAGE', 'MESSAGE'], ...rows]).join(
      '\n',
    ) + '\n'
  );
}
