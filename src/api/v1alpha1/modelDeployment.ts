// ModelDeployment v1alpha1: the zod schemas are the single source of truth. The CRD (crds/ and
// its copies for kustomize and Helm) is generated from them (src/tools/generateCrd.ts); the CEL
// rules attached with `.meta()` are the apiserver's copy of the zod refinements, and
// test/unit/api/examples.test.ts plus
// test/integration/crd.test.ts prove the two agree on the same table of examples.
import { z } from 'zod';
import { GO_DURATION, parseDurationMs } from '../../runtime/duration.js';
import {
  ALIAS,
  apiInteger,
  celString,
  DNS_SUBDOMAIN,
  HTTP_URL,
  MODEL_NAME,
  VERSION_LIKE_ALIAS,
} from './formats.js';
import { AnalysisSchema, analysisIssues } from './analysis.js';
import { StrategySchema, strategyIssues } from './strategy.js';
import {
  BuildSchema,
  DeploymentTargetSchema,
  ImageSchema,
  pipelineIssues,
  pipelineRules,
  ApprovalSchema,
  pipelineStatusFields,
  RollbackSchema,
  TestSchema,
} from './pipeline.js';

export const GROUP = 'mlops.healthpredict.io';
export const VERSION = 'v1alpha1';
export const KIND = 'ModelDeployment';
export const PLURAL = 'modeldeployments';
export const SINGULAR = 'modeldeployment';
export const SHORT_NAMES = ['mdep', 'md'];
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Set to any new value (e.g. a timestamp) to make the operator poll MLflow now. */
export const RECONCILE_REQUESTED_ANNOTATION = `${GROUP}/reconcile-requested-at`;
/** Set to a new value to deploy again a version whose deployment failed. */
export const RETRY_ANNOTATION = `${GROUP}/retry`;
/** Set to the version a run waits for approval of (spec.approval.required) to let it go on. */
export const APPROVE_ANNOTATION = `${GROUP}/approve`;

export const MIN_POLL_INTERVAL = '10s';
/** The longest Go duration (2^63-1 ns, about 2562047h): CEL's duration() fails beyond it. */
const MAX_DURATION_MS = 9_223_372_036_854.775;

/** metadata.name is the value of the app.kubernetes.io/instance label on every child, and a label
 * value holds at most 63 characters. */
export const MAX_NAME_LENGTH = 63;
export const nameRule = {
  rule: `size(self.metadata.name) <= ${MAX_NAME_LENGTH}`,
  message: `metadata.name must be at most ${MAX_NAME_LENGTH} characters: it becomes a label value on the Jobs and Pods the operator creates`,
};
/** The zod-side twin of `nameRule`: the problem with `name`, or undefined. */
export function nameIssue(name: string): string | undefined {
  return [...name].length > MAX_NAME_LENGTH
    ? `${nameRule.message}; "${name.slice(0, 20)}…" has ${[...name].length}`
    : undefined;
}

const stageOrAliasRule = {
  rule: '(has(self.stage) ? 1 : 0) + (has(self.alias) ? 1 : 0) == 1',
  message: 'exactly one of spec.model.stage or spec.model.alias must be set',
};
/** An alias name as MLflow takes it; reservedAliasRule and isReservedAlias add what it reserves. */
const aliasName = () => z.string().min(1).max(255).regex(ALIAS);
/** The CEL rule refusing the aliases MLflow reserves ('latest', v<digits>) in `field`. */
const reservedAliasRule = (field: string, message: string) => ({
  rule: `!has(self.${field}) || (self.${field}.lowerAscii() != 'latest' && !self.${field}.matches(${celString(VERSION_LIKE_ALIAS)}))`,
  message,
  fieldPath: `.${field}`,
});
/** The zod twin of reservedAliasRule. */
const isReservedAlias = (alias: string) => alias.toLowerCase() === 'latest' || VERSION_LIKE_ALIAS.test(alias);
const aliasNotReservedRule = reservedAliasRule(
  'alias',
  "spec.model.alias must not be 'latest' or look like a version number (v1, V12): MLflow reserves those",
);
const pollIntervalRule = {
  rule: `!has(self.pollInterval) || !self.pollInterval.matches('${GO_DURATION.source.replace(/\\/g, '\\\\')}') || duration(self.pollInterval) >= duration('${MIN_POLL_INTERVAL}')`,
  message: `spec.model.pollInterval must be at least ${MIN_POLL_INTERVAL} and at most 2562047h`,
  fieldPath: '.pollInterval',
};

export const ModelRefSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(MODEL_NAME)
      .describe(
        'Name of the registered model in the MLflow Model Registry, e.g. HealthPredictModel. ' +
          'Must not contain "/", ":" or "%" and must not start or end with a blank.',
      ),
    stage: z
      .enum(['Staging', 'Production'])
      .optional()
      .describe(
        'Registry stage to follow (deprecated in MLflow since 2.9 but still served). ' +
          'Exactly one of stage or alias must be set.',
      ),
    alias: aliasName()
      .optional()
      .describe(
        'Registry alias to follow, e.g. champion. Letters (any script), digits, "_" and "-"; "latest" and ' +
          'version-like names (v1) are reserved by MLflow. Exactly one of stage or alias must be set.',
      ),
    pollInterval: z
      .string()
      .regex(GO_DURATION)
      .max(32)
      .default('60s')
      .describe(
        `How often to ask MLflow for a new version, as a Go duration (30s, 5m, 1h). ` +
          `At least ${MIN_POLL_INTERVAL}; defaults to 60s.`,
      ),
  })
  .meta({ 'x-kubernetes-validations': [stageOrAliasRule, aliasNotReservedRule, pollIntervalRule] })
  .describe('Which registered model version to deploy: a model name and the stage or alias to follow.');

export const SecretRefSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS_SUBDOMAIN)
      .describe("Name of a Secret in the ModelDeployment's namespace."),
  })
  .describe(
    'Secret with MLflow credentials: keys "username" and "password" for basic auth, ' +
      'or "token" for a bearer token. Basic auth wins when both are present.',
  );

// MLflow's tag keys: letters, digits, "_", "-", ".", " ", "/"; we leave out the blank.
const TAG_PREFIX = /^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$/;
const liveAliasNotReservedRule = reservedAliasRule(
  'liveAlias',
  "spec.registry.writeBack.liveAlias must not be 'latest' or look like a version number: MLflow reserves those",
);

export const WriteBackSchema = z
  .object({
    tagPrefix: z
      .string()
      .regex(TAG_PREFIX)
      .default('modeldeployment')
      .describe(
        'Prefix of the tags set on each model version a run finished with: <prefix>.status (Succeeded, ' +
          'RolledBack or Failed), <prefix>.image (image by digest), <prefix>.deployedAt, <prefix>.target ' +
          '(namespace/Deployment). Defaults to modeldeployment.',
      ),
    liveAlias: aliasName()
      .optional()
      .describe(
        'An alias moved to the version that serves after each run, also after a rollback, e.g. live. ' +
          'Must differ from spec.model.alias (the followed alias would then follow itself).',
      ),
  })
  .meta({ 'x-kubernetes-validations': [liveAliasNotReservedRule] })
  .describe(
    'Write what was deployed back to MLflow (off unless set). A failing write-back never fails or ' +
      'repeats a deployment: it has its own condition, RegistryWriteBack, and is retried with backoff.',
  );
export type WriteBackSpec = z.infer<typeof WriteBackSchema>;

export const RegistrySchema = z
  .object({
    trackingUri: z
      .string()
      .max(2048)
      .regex(HTTP_URL)
      .describe('Base URL of the MLflow tracking server, e.g. http://mlflow.mlops.svc:5000.'),
    credentialsSecretRef: SecretRefSchema.optional(),
    timeoutSeconds: apiInteger(1, 300)
      .default(10)
      .describe('Timeout of one request to MLflow, in seconds. Defaults to 10.'),
    writeBack: WriteBackSchema.optional(),
  })
  .describe('The MLflow tracking server that holds the Model Registry.');

const strategyNeedsDeploymentRule = {
  rule: "!has(self.strategy) || self.strategy.type == 'RollingUpdate' || has(self.deployment)",
  message: 'spec.deployment is required when spec.strategy.type is not RollingUpdate',
};

const canaryAnalysisNeedsTestRule = {
  rule:
    '!has(self.strategy) || !has(self.strategy.canary) || ' +
    '!self.strategy.canary.steps.exists(s, has(s.analysis) && has(s.analysis.testJob)) || has(self.test)',
  message: 'spec.test is required when a canary step runs an analysis (testJob)',
};

const liveAliasRule = {
  rule:
    '!has(self.registry.writeBack) || !has(self.registry.writeBack.liveAlias) || !has(self.model.alias) || ' +
    'self.registry.writeBack.liveAlias != self.model.alias',
  message: 'spec.registry.writeBack.liveAlias must differ from spec.model.alias',
};

export const ModelDeploymentSpecSchema = z
  .object({
    model: ModelRefSchema,
    registry: RegistrySchema,
    image: ImageSchema.optional(),
    build: BuildSchema.optional(),
    deployment: DeploymentTargetSchema.optional(),
    test: TestSchema.optional(),
    rollback: RollbackSchema.optional(),
    approval: ApprovalSchema.optional(),
    strategy: StrategySchema.optional(),
    analysis: AnalysisSchema.optional(),
    historyLimit: apiInteger(1, 50)
      .default(10)
      .describe('How many finished deployments status.history keeps. Defaults to 10.'),
    suspend: z
      .boolean()
      .default(false)
      .describe('Stop polling MLflow and reconciling this object until set back to false.'),
  })
  .meta({
    'x-kubernetes-validations': [
      ...pipelineRules,
      liveAliasRule,
      strategyNeedsDeploymentRule,
      canaryAnalysisNeedsTestRule,
    ],
  })
  .describe(
    'Desired state: the MLflow model to follow, and optionally how to build, roll out and test each new version.',
  );

export const ConditionSchema = z
  .object({
    type: z.string().min(1).max(316).describe('Type of condition in CamelCase, e.g. Ready.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was set for.'),
    lastTransitionTime: z.string().describe('Last time the condition changed status (RFC 3339).'),
    reason: z.string().min(1).max(1024).describe('Machine-readable reason in CamelCase.'),
    message: z.string().max(32768).describe('Human-readable message: what happened and what to do.'),
  })
  .describe('A kstatus / metav1.Condition entry.');
export type Condition = z.infer<typeof ConditionSchema>;

export const PHASES = [
  'Pending',
  'Resolving',
  'Building',
  'Scanning',
  'AwaitingApproval',
  'Previewing',
  'Canary',
  'Deploying',
  'Verifying',
  'Testing',
  'RollingBack',
  'Succeeded',
  'Failed',
  'RolledBack',
] as const;
export type Phase = (typeof PHASES)[number];

export const ResolvedModelSchema = z
  .object({
    name: z.string().describe('Registered model name.'),
    version: z.string().describe('Resolved model version (MLflow versions are strings of digits).'),
    runId: z.string().optional().describe('MLflow run that produced the version, when known.'),
    source: z.string().optional().describe('Source URI of the version as MLflow reports it.'),
    uri: z.string().describe('Exact model URI that pins this version: models:/<name>/<version>.'),
    resolvedFrom: z.string().describe('What was followed: stage:<Stage> or alias:<alias>.'),
    resolvedAt: z.string().describe('When this version was first resolved (RFC 3339).'),
  })
  .describe('The model version the operator resolved from the registry.');
export type ResolvedModel = z.infer<typeof ResolvedModelSchema>;

export const ModelDeploymentStatusSchema = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the status was last computed for.'),
    phase: z
      .enum(PHASES)
      .optional()
      .describe(
        'Where the pipeline is: the step running when the last reconcile ended (Resolving, Building, ' +
          'Scanning, AwaitingApproval, Previewing, Canary, Deploying, Verifying, Testing, RollingBack), Succeeded when every step is done, RolledBack when ' +
          'the run failed and the stable version serves again, Failed while Stalled is True otherwise.',
      ),
    model: ResolvedModelSchema.optional(),
    ...pipelineStatusFields,
    registryWriteBack: z
      .object({
        run: z.string().describe('The run written back: <version>@<startedAt>.'),
        writtenAt: z.string().describe('When (RFC 3339).'),
      })
      .optional()
      .describe('The last finished run whose outcome was written back to MLflow (spec.registry.writeBack).'),
    lastHandledReconcileAt: z
      .string()
      .optional()
      .describe(`Value of the ${RECONCILE_REQUESTED_ANNOTATION} annotation last acted upon.`),
    conditions: z
      .array(ConditionSchema)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Reconciling and Stalled (kstatus), plus one condition per pipeline step.'),
  })
  .describe('Observed state, written by the operator.');

export type ModelDeploymentSpec = z.infer<typeof ModelDeploymentSpecSchema>;
export type ModelDeploymentStatus = z.infer<typeof ModelDeploymentStatusSchema>;

export interface ModelDeployment {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
    // Typed as client-node types them; custom objects arrive as JSON strings. Only presence is read.
    creationTimestamp?: Date;
    deletionTimestamp?: Date;
  };
  spec: ModelDeploymentSpec;
  status?: ModelDeploymentStatus;
}

/** What the spec follows, as written in status and messages: `stage:Production` or `alias:champion`. */
export function followedRef(model: z.infer<typeof ModelRefSchema>): string {
  return model.alias !== undefined ? `alias:${model.alias}` : `stage:${model.stage}`;
}

/** Zod twin of the CEL rules: the checks the apiserver makes that a JSON schema cannot express. */
export const ModelDeploymentSpecStrictSchema = ModelDeploymentSpecSchema.superRefine((spec, ctx) => {
  const { model } = spec;
  if ((model.stage === undefined) === (model.alias === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['model'], message: stageOrAliasRule.message });
  }
  if (model.alias !== undefined && isReservedAlias(model.alias)) {
    ctx.addIssue({ code: 'custom', path: ['model', 'alias'], message: aliasNotReservedRule.message });
  }
  if (
    GO_DURATION.test(model.pollInterval) &&
    (parseDurationMs(model.pollInterval) < parseDurationMs(MIN_POLL_INTERVAL) ||
      parseDurationMs(model.pollInterval) > MAX_DURATION_MS)
  ) {
    ctx.addIssue({ code: 'custom', path: ['model', 'pollInterval'], message: pollIntervalRule.message });
  }
  for (const issue of pipelineIssues(spec)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of analysisIssues(spec.analysis)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of strategyIssues(spec.strategy)) ctx.addIssue({ code: 'custom', ...issue });
  if (spec.strategy && spec.strategy.type !== 'RollingUpdate' && !spec.deployment)
    ctx.addIssue({ code: 'custom', path: ['strategy'], message: strategyNeedsDeploymentRule.message });
  if (spec.strategy?.canary?.steps.some((s) => s.analysis?.testJob !== undefined) && !spec.test)
    ctx.addIssue({ code: 'custom', path: ['test'], message: canaryAnalysisNeedsTestRule.message });
  const live = spec.registry.writeBack?.liveAlias;
  if (live !== undefined && isReservedAlias(live)) {
    ctx.addIssue({
      code: 'custom',
      path: ['registry', 'writeBack', 'liveAlias'],
      message: liveAliasNotReservedRule.message,
    });
  }
  if (live !== undefined && live === model.alias) {
    ctx.addIssue({
      code: 'custom',
      path: ['registry', 'writeBack', 'liveAlias'],
      message: liveAliasRule.message,
    });
  }
});
