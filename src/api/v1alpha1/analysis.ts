// The analysis part of the ModelDeployment API: checks that decide whether a candidate version
// may go on. Same rule as modelDeployment.ts: zod is the source, the CRD is generated, CEL rules
// mirror the refinements (`analysisIssues` is their zod twin).
import { z } from 'zod';
import { GO_DURATION } from '../../runtime/duration.js';
import { HTTP_URL } from './formats.js';

// MLflow's metric keys: letters, digits, "_", "-", ".", " ", ":" and "/".
const METRIC_KEY = /^[A-Za-z0-9_.:/ -]+$/;
/** A decimal number as a string: the API conventions keep floats out of specs, as Kubernetes
 * quantities do, so a value round-trips through YAML, JSON and Go unchanged. */
export const DECIMAL = /^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$/;
const NON_NEGATIVE_DECIMAL = /^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$/;
export const MAX_METRIC_CHECKS = 16;

/** A number written as a decimal string (see DECIMAL). */
const decimal = (pattern = DECIMAL) => z.string().max(32).regex(pattern);

const boundRule = {
  rule: 'has(self.threshold) || has(self.notWorseThanServing)',
  message: 'a metric check needs threshold, notWorseThanServing or both',
};

export const MlflowMetricCheckSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(250)
      .regex(METRIC_KEY)
      .describe('Key of a metric logged by the MLflow run that produced the version, e.g. val_rmse.'),
    better: z
      .enum(['Higher', 'Lower'])
      .describe('Which way the metric improves: Higher (accuracy, AUC) or Lower (loss, RMSE).'),
    threshold: decimal()
      .optional()
      .describe(
        'Absolute bound, as a decimal string ("0.9"): the candidate must be at least this (better: Higher) ' +
          'or at most this (better: Lower).',
      ),
    notWorseThanServing: z
      .object({
        tolerance: decimal(NON_NEGATIVE_DECIMAL)
          .default('0')
          .describe(
            'How much worse than the serving version the candidate may be, as a decimal string. Defaults to "0".',
          ),
      })
      .optional()
      .describe(
        'Compare with the same metric of the version that serves (status.serving.version): the candidate may ' +
          'be worse by at most the tolerance. Skipped while nothing serves yet.',
      ),
  })
  .meta({ 'x-kubernetes-validations': [boundRule] })
  .describe('One metric of the candidate version, checked against a bound and/or the serving version.');
export type MlflowMetricCheck = z.infer<typeof MlflowMetricCheckSchema>;

export const AnalysisSchema = z
  .object({
    mlflowMetrics: z
      .array(MlflowMetricCheckSchema)
      .max(MAX_METRIC_CHECKS)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
      .describe(
        'Metrics of the MLflow run behind each new version, checked before anything is built: a version ' +
          'that fails one fails its run (reason MetricsFailed) and never reaches the cluster. ' +
          `At most ${MAX_METRIC_CHECKS}, names unique.`,
      ),
  })
  .describe('Checks a new version must pass before it goes on.');
export type AnalysisSpec = z.infer<typeof AnalysisSchema>;

/** The zod twin of the CEL rules above and of the list's unique names. */
export function analysisIssues(
  analysis: AnalysisSpec | undefined,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const seen = new Set<string>();
  for (const [i, check] of (analysis?.mlflowMetrics ?? []).entries()) {
    const path = ['analysis', 'mlflowMetrics', i];
    if (check.threshold === undefined && check.notWorseThanServing === undefined)
      issues.push({ path, message: boundRule.message });
    if (seen.has(check.name))
      issues.push({ path: [...path, 'name'], message: `duplicate metric check "${check.name}"` });
    seen.add(check.name);
  }
  return issues;
}

const boundsRule = {
  rule: 'has(self.min) || has(self.max)',
  message: 'a prometheus analysis needs min, max or both',
};

export const PrometheusAnalysisSchema = z
  .object({
    address: z
      .string()
      .max(2048)
      .regex(HTTP_URL)
      .describe('Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.'),
    query: z
      .string()
      .min(1)
      .max(4096)
      .describe(
        'PromQL instant query whose result is one number (a scalar, or the first sample of a vector). ' +
          '{namespace}, {canary} (the canary Deployment, e.g. pod=~"{canary}-.*") and {version} are replaced.',
      ),
    min: decimal()
      .optional()
      .describe('A measurement passes when the value is at least this (decimal string).'),
    max: decimal()
      .optional()
      .describe(
        'A measurement passes when the value is at most this (decimal string), e.g. an error rate "0.05".',
      ),
    interval: z
      .string()
      .regex(GO_DURATION)
      .max(32)
      .default('30s')
      .describe('Time between measurements, as a Go duration. Defaults to 30s.'),
    count: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .meta({ type: 'integer' })
      .describe('Measurements to take. Defaults to 3.'),
    failureLimit: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(0)
      .meta({ type: 'integer' })
      .describe(
        'Failed measurements allowed: one more fails the analysis. A query with no result counts as failed. Defaults to 0.',
      ),
  })
  .meta({ 'x-kubernetes-validations': [boundsRule] })
  .describe(
    'An instant query of Prometheus, measured count times every interval and compared with min and/or max.',
  );
export type PrometheusAnalysis = z.infer<typeof PrometheusAnalysisSchema>;

/** The zod twin of the prometheus analysis' CEL rule. */
export function prometheusIssues(check: PrometheusAnalysis | undefined, path: (string | number)[]) {
  return check && check.min === undefined && check.max === undefined
    ? [{ path, message: boundsRule.message }]
    : [];
}
