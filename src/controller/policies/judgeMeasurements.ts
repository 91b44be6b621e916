// A Prometheus analysis as a sequence of measurements: when to take the next, what one value
// means against min/max, and when the analysis has passed or failed. Pure; table-tested. The
// query itself is made in steps/canary.ts.
import type { PrometheusAnalysis } from '../../api/v1alpha1/analysis.js';
import { parseDurationMs } from '../../runtime/duration.js';

export interface Measured {
  measurements: number;
  failed: number;
  lastAt?: string;
}

export type AnalysisVerdict =
  | { kind: 'measure' }
  | { kind: 'wait'; ms: number }
  | { kind: 'passed'; message: string }
  | { kind: 'failed'; message: string };

export function nextMeasurement(check: PrometheusAnalysis, state: Measured, now: Date): AnalysisVerdict {
  const { measurements, failed } = state;
  if (failed > check.failureLimit) {
    return {
      kind: 'failed',
      message: `${failed} of ${measurements} measurements failed, more than failureLimit ${check.failureLimit}`,
    };
  }
  if (measurements >= check.count) {
    return { kind: 'passed', message: `${measurements - failed} of ${measurements} measurements passed` };
  }
  const due = state.lastAt === undefined ? 0 : Date.parse(state.lastAt) + parseDurationMs(check.interval);
  const ms = due - now.getTime();
  return ms > 0 ? { kind: 'wait', ms } : { kind: 'measure' };
}

/** Whether one value passes; undefined (no result) or NaN never does. */
export function judgeValue(
  value: number | undefined,
  check: Pick<PrometheusAnalysis, 'min' | 'max'>,
): { passed: boolean; said: string } {
  if (value === undefined) return { passed: false, said: 'the query had no result' };
  if (Number.isNaN(value)) return { passed: false, said: 'the query answered NaN' };
  const low = check.min !== undefined && value < Number(check.min);
  const high = check.max !== undefined && value > Number(check.max);
  const bounds = [
    check.min !== undefined ? `≥ ${check.min}` : '',
    check.max !== undefined ? `≤ ${check.max}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return { passed: !low && !high, said: `${value} (wanted ${bounds})` };
}

/** The query with {namespace}, {version} and the side Deployment ({canary} or {preview}) filled
 * in; a placeholder without a value stays as written. */
export function renderQuery(
  query: string,
  values: { namespace: string; version: string; canary?: string; preview?: string },
): string {
  return query.replace(
    /\{(namespace|version|canary|preview)\}/g,
    (whole: string, key: keyof typeof values) => values[key] ?? whole,
  );
}
