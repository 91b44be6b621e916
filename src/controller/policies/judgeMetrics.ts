// What the metric gate makes of the metrics MLflow holds for the candidate version and for the
// version that serves. Pure; table-tested. The I/O (model-versions/get, runs/get) stays in
// steps/checkMetrics.ts. A check that cannot be made fails: a gate that lets a version through
// because a number is missing is no gate.
import type { MlflowMetricCheck } from '../../api/v1alpha1/analysis.js';

/** The metrics of one version's MLflow run, or why there are none. */
export type VersionMetrics =
  { version: string; runId: string; metrics: Record<string, number> } | { version: string; missing: string };

export interface MetricsInput {
  checks: readonly MlflowMetricCheck[];
  candidate: VersionMetrics;
  /** The version that serves now; undefined while nothing serves (or it is the candidate). */
  serving: VersionMetrics | undefined;
}

export type MetricsVerdict = { kind: 'passed'; message: string } | { kind: 'failed'; message: string };

export function judgeMetrics({ checks, candidate, serving }: MetricsInput): MetricsVerdict {
  const passed: string[] = [];
  for (const check of checks) {
    const result = judgeOne(check, candidate, serving);
    if (result.kind === 'failed') return result;
    passed.push(result.message);
  }
  return { kind: 'passed', message: `version ${candidate.version}: ${passed.join('; ')}` };
}

function judgeOne(
  check: MlflowMetricCheck,
  candidate: VersionMetrics,
  serving: VersionMetrics | undefined,
): MetricsVerdict {
  const { name, better } = check;
  const value = valueOf(candidate, name);
  if (typeof value === 'string') return { kind: 'failed', message: value };
  const worse = (a: number, b: number) => (better === 'Higher' ? a < b : a > b);
  const said = [`${name} = ${value}`];
  if (check.threshold !== undefined) {
    const bound = Number(check.threshold);
    const side = better === 'Higher' ? 'at least' : 'at most';
    if (worse(value, bound)) {
      return {
        kind: 'failed',
        message: `version ${candidate.version}: ${name} = ${value}, but spec.analysis.mlflowMetrics needs ${side} ${check.threshold}`,
      };
    }
    said.push(`${side} ${check.threshold}`);
  }
  if (check.notWorseThanServing !== undefined) {
    if (serving === undefined) {
      said.push('no version serves yet to compare with');
    } else {
      const reference = valueOf(serving, name);
      if (typeof reference === 'string') {
        return {
          kind: 'failed',
          message: `cannot compare with the serving version: ${reference}; log ${name} for it, or remove notWorseThanServing from the check`,
        };
      }
      const tolerance = Number(check.notWorseThanServing.tolerance);
      const limit = better === 'Higher' ? reference - tolerance : reference + tolerance;
      if (worse(value, limit)) {
        return {
          kind: 'failed',
          message:
            `version ${candidate.version}: ${name} = ${value} is worse than version ${serving.version}'s ${reference}` +
            ` that serves (tolerance ${check.notWorseThanServing.tolerance})`,
        };
      }
      said.push(`not worse than version ${serving.version}'s ${reference}`);
    }
  }
  return { kind: 'passed', message: said.join(', ') };
}

/** The metric's value, or a sentence saying why there is none. */
function valueOf(of: VersionMetrics, name: string): number | string {
  if ('missing' in of) return `version ${of.version} ${of.missing}`;
  const value = of.metrics[name];
  if (value === undefined) return `version ${of.version}'s MLflow run ${of.runId} logged no metric "${name}"`;
  if (!Number.isFinite(value))
    return `version ${of.version}'s MLflow run ${of.runId} logged ${name} = ${value}`;
  return value;
}
