// A Prometheus analysis run by a step (a canary step, the blue-green pre-promotion gate):
// `count` measurements `interval` apart, each compared with min/max; more failures than
// failureLimit fail the run. The measurements are counted in a record the caller keeps in status,
// so a restart neither forgets nor repeats one. When to measure and what a value means are pure
// (policies/judgeMeasurements.ts).
import type { PrometheusAnalysis } from '../../api/v1alpha1/analysis.js';
import { Reason } from '../../api/v1alpha1/conditions.js';
import { PrometheusError } from '../../clients/prometheus.js';
import { Transient } from '../../runtime/errors.js';
import { next, wait, type ReconcileContext, type StepResult } from '../context.js';
import { judgeValue, nextMeasurement } from '../policies/judgeMeasurements.js';
import { RunFailed } from '../run.js';

/** What status keeps of the measurements so far. */
export interface MeasurementRecord {
  result: 'Running' | 'Passed' | 'Failed';
  measurements?: number;
  failed?: number;
  lastValue?: string;
  lastAt?: string;
}

export interface AnalysisContext {
  /** Said first in every message, e.g. "2/4: analysis (prometheus)". */
  what: string;
  /** Where the query is written, for a query Prometheus refuses. */
  field: string;
  /** Sets the step's condition. */
  mark: (status: 'False', reason: Reason, message: string) => void;
}

export async function runPrometheusAnalysis(
  ctx: ReconcileContext,
  check: PrometheusAnalysis,
  query: string,
  record: MeasurementRecord,
  { what, field, mark }: AnalysisContext,
): Promise<StepResult<void>> {
  for (;;) {
    const taken = {
      measurements: record.measurements ?? 0,
      failed: record.failed ?? 0,
      ...(record.lastAt ? { lastAt: record.lastAt } : {}),
    };
    const verdict = nextMeasurement(check, taken, ctx.now);
    switch (verdict.kind) {
      case 'passed':
        record.result = 'Passed';
        return next(undefined);
      case 'failed': {
        record.result = 'Failed';
        const message = `${what}: the Prometheus analysis failed: ${verdict.message} (last: ${record.lastValue})`;
        mark('False', Reason.AnalysisFailed, message);
        throw new RunFailed(Reason.AnalysisFailed, message);
      }
      case 'wait': {
        const message = `${what}: ${taken.measurements} of ${check.count} measurements, ${taken.failed} failed (last: ${record.lastValue})`;
        record.result = 'Running';
        mark('False', Reason.AnalysisRunning, message);
        return wait(Reason.AnalysisRunning, message, verdict.ms);
      }
      case 'measure': {
        const judged = judgeValue(
          await queryPrometheus(ctx, check.address, query, { what, field, mark }),
          check,
        );
        record.measurements = taken.measurements + 1;
        record.failed = taken.failed + (judged.passed ? 0 : 1);
        record.lastValue = judged.said;
        record.lastAt = ctx.now.toISOString();
      }
    }
  }
}

async function queryPrometheus(
  ctx: ReconcileContext,
  address: string,
  query: string,
  { what, field, mark }: AnalysisContext,
): Promise<number | undefined> {
  try {
    return await ctx.deps.pipeline.prometheus(address, query);
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err;
    if (err.kind === 'BadQuery') {
      const message = `${what}: ${err.message}; fix the query in ${field}`;
      mark('False', Reason.AnalysisFailed, message);
      throw new RunFailed(Reason.AnalysisFailed, message);
    }
    throw new Transient(Reason.PrometheusUnavailable, err.message, { cause: err });
  }
}
