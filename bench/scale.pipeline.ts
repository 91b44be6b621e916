// The same pipeline run by the operator and by the seed's Airflow DAG, on the same bed with the
// same stand-ins, in the same benchmark run: trigger → done and CPU per run.
import { measure } from './pipelineOverhead.measure.js';
import type { PipelineComparison, ScaleOptions } from './scale.lib.js';

export async function comparePipelines(
  o: ScaleOptions,
  progress: (line: string) => void,
): Promise<PipelineComparison | undefined> {
  if (o.pipelineRuns === 0) return undefined;
  progress(`pipeline: ${o.pipelineRuns} operator runs (bench:pipeline)`);
  const operator = await measure({ runs: o.pipelineRuns, warmup: 1, parallel: false }, progress);
  if (!operator) return undefined;
  const comparison: PipelineComparison = {
    operatorMs: operator.runs.map((r) => r.figures.total),
    overheadMs: operator.runs.map((r) => r.figures.overhead),
    operatorCpuSeconds: operator.operatorCpuSeconds ?? Number.NaN,
  };
  if (o.airflow) {
    const { airflowRuns } = await import('./scale.airflow.js');
    comparison.airflow = await airflowRuns(o.pipelineRuns, progress);
  }
  return comparison;
}
