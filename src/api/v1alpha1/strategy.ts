// How a new version reaches the serving Deployment: spec.strategy. Same rule as
// modelDeployment.ts: zod is the source, the CRD is generated, CEL rules mirror the refinements
// (`strategyIssues` is their zod twin).
import { z } from 'zod';
import { GO_DURATION } from '../../runtime/duration.js';
import { PrometheusAnalysisSchema, prometheusIssues } from './analysis.js';
import { apiInteger, DNS_LABEL } from './formats.js';

export const BlueGreenSchema = z
  .object({
    activeService: z
      .string()
      .max(63)
      .regex(DNS_LABEL)
      .optional()
      .describe(
        'Service in the same namespace that sends users to the serving Deployment. When set, promotion ' +
          'switches its selector to the tested preview Pods (one guarded patch), rolls the serving Deployment, ' +
          'and switches it back once every Pod it selected runs the new version. When unset, promotion rolls ' +
          'the serving Deployment after the preview passed its tests.',
      ),
    previewReplicas: apiInteger(1, 100)
      .optional()
      .describe(
        "Replicas of the preview Deployment. Defaults to the serving Deployment's replicas (at least 1).",
      ),
    autoPromote: z
      .boolean()
      .default(true)
      .describe(
        'Promote as soon as the preview passed its tests. false waits, in phase AwaitingApproval, until the ' +
          'annotation mlops.healthpredict.io/approve equals the version. Defaults to true.',
      ),
    prePromotionAnalysis: z
      .object({ prometheus: PrometheusAnalysisSchema })
      .optional()
      .describe(
        'After the preview passed its tests and before promotion (and approval): a Prometheus analysis of ' +
          'the preview; {preview} in the query is the preview Deployment (pod=~"{preview}-.*"). A failure ' +
          'removes the preview; the serving Deployment and Service were never touched.',
      ),
    scaleDownDelaySeconds: apiInteger(0, 86_400)
      .default(30)
      .describe(
        'How long the preview keeps running after promotion (connections drain, a Service switched back ' +
          'settles), before it is removed. Defaults to 30.',
      ),
  })
  .describe('Blue-green settings: a preview Deployment tested before any user reaches the version.');
export type BlueGreenSpec = z.infer<typeof BlueGreenSchema>;

export const MAX_CANARY_STEPS = 20;

const oneActionRule = {
  rule: '(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1',
  message: 'each canary step is exactly one of setWeight, pause or analysis',
};

const analysisKindRule = {
  rule: '(has(self.testJob) ? 1 : 0) + (has(self.prometheus) ? 1 : 0) == 1',
  message: 'an analysis step is exactly one of testJob or prometheus',
};

export const CanaryStepSchema = z
  .object({
    setWeight: apiInteger(1, 100)
      .optional()
      .describe(
        "Run the canary with this percent of the serving Deployment's replicas (rounded up, at least one Pod), " +
          "beside the serving Pods: the user's Service selects both, so about that share of requests reaches it.",
      ),
    pause: z
      .object({
        duration: z
          .string()
          .regex(GO_DURATION)
          .max(32)
          .optional()
          .describe('How long to wait, as a Go duration (30s, 5m). Without it, wait until approved.'),
      })
      .optional()
      .describe(
        'Wait for the duration, or (without one) until the annotation mlops.healthpredict.io/approve names ' +
          'the version; one approval lets every such pause of the run pass.',
      ),
    analysis: z
      .object({
        testJob: z
          .object({})
          .optional()
          .describe('Run spec.test against the canary Pods (SERVICE_URL is the canary Service).'),
        prometheus: PrometheusAnalysisSchema.optional(),
      })
      .meta({ 'x-kubernetes-validations': [analysisKindRule] })
      .optional()
      .describe('Check the canary; a failed check aborts the run and removes the canary.'),
  })
  .meta({ 'x-kubernetes-validations': [oneActionRule] })
  .describe('One canary step: setWeight, pause or analysis.');
export type CanaryStep = z.infer<typeof CanaryStepSchema>;

export const CanarySchema = z
  .object({
    steps: z
      .array(CanaryStepSchema)
      .min(1)
      .max(MAX_CANARY_STEPS)
      .describe(
        `The steps, in order (at most ${MAX_CANARY_STEPS}). After the last, the serving Deployment is rolled to ` +
          'the version and the canary removed. A failed step removes the canary; the serving Deployment was never changed.',
      ),
  })
  .describe(
    'Canary settings: a second Deployment of the version beside the serving one, grown step by step.',
  );
export type CanarySpec = z.infer<typeof CanarySchema>;

const canaryOnlyRule = {
  rule: "!has(self.canary) || self.type == 'Canary'",
  message: 'spec.strategy.canary is only allowed with type Canary',
};
const canaryNeedsStepsRule = {
  rule: "self.type != 'Canary' || has(self.canary)",
  message: 'spec.strategy.canary.steps is required with type Canary',
};

const blueGreenOnlyRule = {
  rule: "!has(self.blueGreen) || self.type == 'BlueGreen'",
  message: 'spec.strategy.blueGreen is only allowed with type BlueGreen',
};

export const StrategySchema = z
  .object({
    type: z
      .enum(['RollingUpdate', 'BlueGreen', 'Canary'])
      .default('RollingUpdate')
      .describe(
        'RollingUpdate (default): patch the serving Deployment, let its own rollout replace the Pods, then test. ' +
          'BlueGreen: run the new version in a preview Deployment and Service, test it there, and only then ' +
          'promote it to the serving Deployment. Canary: run it in a canary Deployment beside the serving one, ' +
          'sized and checked by spec.strategy.canary.steps, then promote it.',
      ),
    blueGreen: BlueGreenSchema.optional(),
    canary: CanarySchema.optional(),
  })
  .meta({ 'x-kubernetes-validations': [blueGreenOnlyRule, canaryOnlyRule, canaryNeedsStepsRule] })
  .describe('How each new version reaches the serving Deployment.');
export type StrategySpec = z.infer<typeof StrategySchema>;

/** The zod twin of the CEL rules above. */
export function strategyIssues(
  strategy: StrategySpec | undefined,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (strategy?.blueGreen !== undefined && strategy.type !== 'BlueGreen')
    issues.push({ path: ['strategy', 'blueGreen'], message: blueGreenOnlyRule.message });
  if (strategy?.canary !== undefined && strategy.type !== 'Canary')
    issues.push({ path: ['strategy', 'canary'], message: canaryOnlyRule.message });
  if (strategy?.type === 'Canary' && strategy.canary === undefined)
    issues.push({ path: ['strategy'], message: canaryNeedsStepsRule.message });
  for (const [i, step] of (strategy?.canary?.steps ?? []).entries()) {
    const actions = [step.setWeight, step.pause, step.analysis].filter((a) => a !== undefined).length;
    if (actions !== 1)
      issues.push({ path: ['strategy', 'canary', 'steps', i], message: oneActionRule.message });
    const analysis = step.analysis;
    const path = ['strategy', 'canary', 'steps', i, 'analysis'];
    if (analysis && (analysis.testJob === undefined) === (analysis.prometheus === undefined))
      issues.push({ path, message: analysisKindRule.message });
    issues.push(...prometheusIssues(analysis?.prometheus, [...path, 'prometheus']));
  }
  if (strategy?.blueGreen?.prePromotionAnalysis) {
    const path = ['strategy', 'blueGreen', 'prePromotionAnalysis', 'prometheus'];
    issues.push(...prometheusIssues(strategy.blueGreen.prePromotionAnalysis.prometheus, path));
  }
  return issues;
}

/** The canary settings, when the strategy is Canary. */
export function canaryOf(strategy: StrategySpec | undefined): CanarySpec | undefined {
  return strategy?.type === 'Canary' ? strategy.canary : undefined;
}

/** The blue-green settings with their defaults, when the strategy is BlueGreen. */
export function blueGreenOf(strategy: StrategySpec | undefined): BlueGreenSpec | undefined {
  if (strategy?.type !== 'BlueGreen') return undefined;
  return strategy.blueGreen ?? { autoPromote: true, scaleDownDelaySeconds: 30 };
}
