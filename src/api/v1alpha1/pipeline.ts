// The deployment pipeline's part of the ModelDeployment API: image, build, serving Deployment,
// test Job (spec) and what each step did (status). Same rule as modelDeployment.ts: zod is
// the source, the CRD is generated, CEL rules mirror the refinements.
import { z } from 'zod';
import { RunResult } from './conditions.js';
import {
  apiInteger,
  BUILD_CONTEXT,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  ENV_NAME,
  IMAGE,
  keysMatch,
  QUANTITY,
  RESOURCE_NAME,
  celString,
} from './formats.js';
import { userMap } from './userMap.js';

// <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>; repository names as ECR allows.
export const ECR_REPOSITORY =
  /^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$/;
// Docker tag characters plus the template placeholders.
const TAG_TEMPLATE = /^[A-Za-z0-9_{][A-Za-z0-9_.{}-]{0,127}$/;

export const DEFAULT_EXECUTOR_IMAGE = 'ghcr.io/kaniko-build/dist/mzihlmann-kaniko/executor:v1.24.3';

const templated =
  'Placeholders {name}, {version}, {runId} and {runIdShort} are replaced with the resolved model.';

// The CRD checks map keys with CEL: OpenAPI has no schema for them.
const envKeys = keysMatch(
  ENV_NAME,
  'a variable name: letters, digits, "_", "-", "."; not "." or "..…", no leading digit',
);
const envMap = (what: string) =>
  userMap(ENV_NAME, 4096)
    .meta({ 'x-kubernetes-validations': [envKeys] })
    .optional()
    .describe(`${what} ${templated}`);

const MAX_RESOURCES = 8;
const resourceMap = (what: string) =>
  z
    .record(
      z.string().max(253).regex(RESOURCE_NAME),
      z
        .string()
        .max(64)
        .regex(QUANTITY)
        .meta({
          'x-kubernetes-validations': [
            {
              // The regex first: the apiserver's parser stalls on some strings the regex refuses.
              rule: `self.matches(${celString(QUANTITY)}) && isQuantity(self)`,
              message: 'must be a quantity that is not negative, e.g. 500m, 1.5Gi or 2',
            },
          ],
        }),
    )
    .refine((m) => Object.keys(m).length <= MAX_RESOURCES, { message: `at most ${MAX_RESOURCES} resources` })
    .meta({
      maxProperties: MAX_RESOURCES,
      'x-kubernetes-validations': [
        {
          rule: `self.all(k, size(k) <= 253 && k.matches(${celString(RESOURCE_NAME)}))`,
          message:
            'every key must be a resource name: cpu, memory, ephemeral-storage, hugepages-<size> or <domain>/<name>',
        },
      ],
    })
    .optional()
    .describe(what);

/** ECR's finding severities, least severe first (UNDEFINED never fails a scan gate). */
export const SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];
// A finding name or CVE id: CVE-2024-1234, GHSA-…, ALAS2-2023-1234; no blanks.
const FINDING_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const ScanSchema = z
  .object({
    failOn: z
      .enum(SEVERITIES)
      .default('HIGH')
      .describe(
        'Fail the run when a finding of this severity or worse remains after `ignore`. Defaults to HIGH.',
      ),
    ignore: z
      .array(z.string().regex(FINDING_NAME).describe('A finding name or CVE id, e.g. CVE-2024-1234.'))
      .max(200)
      .optional()
      .describe('Findings that never fail the gate, by name or CVE id (at most 200).'),
    timeoutSeconds: apiInteger(30, 86_400)
      .default(900)
      .describe('How long to wait for the scan to complete. Defaults to 900.'),
    onScanError: z
      .enum(['Fail', 'Allow'])
      .default('Fail')
      .describe(
        'What to do when the scan cannot give findings (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, ' +
          'SCAN_ELIGIBILITY_EXPIRED, a timeout, ECR refusing the request): Fail the run, or Allow the rollout ' +
          'with a warning. Defaults to Fail.',
      ),
  })
  .describe(
    'ECR image scan gate: after the image exists and before the rollout, wait for its scan (started when ' +
      'scan on push is off) and fail the run on findings at or above failOn.',
  );
export type ScanSpec = z.infer<typeof ScanSchema>;

export const ImageSchema = z
  .object({
    repository: z
      .string()
      .max(256)
      .regex(ECR_REPOSITORY)
      .describe(
        'Amazon ECR repository for the serving image: <account>.dkr.ecr.<region>.amazonaws.com/<name>.',
      ),
    tagTemplate: z
      .string()
      .regex(TAG_TEMPLATE)
      .default('v{version}-{runIdShort}-{buildHash}')
      .describe(
        `Image tag; the same model version and build spec always give the same tag. ${templated} ` +
          '{buildHash} is replaced with a hash of what makes the image (builder, context, Dockerfile, build args, ' +
          'CodeBuild project, executor image): without it, a tag built from another build spec is not reused. ' +
          'Defaults to v{version}-{runIdShort}-{buildHash}.',
      ),
    scanOnPush: z
      .boolean()
      .default(true)
      .describe('Create the repository with scan on push. Defaults to true.'),
    tagMutability: z
      .enum(['MUTABLE', 'IMMUTABLE'])
      .default('IMMUTABLE')
      .describe('Tag mutability of a repository the operator creates. Defaults to IMMUTABLE.'),
    scan: ScanSchema.optional(),
  })
  .describe('Where the serving image is pushed. The repository is created if missing.');
export type ImageSpec = z.infer<typeof ImageSchema>;

export const BuildSchema = z
  .object({
    builder: z
      .enum(['kaniko', 'codebuild', 'none'])
      .default('kaniko')
      .describe(
        'kaniko: an in-cluster build Job; codebuild: an AWS CodeBuild project; none: no build, only the model env changes.',
      ),
    context: z
      .string()
      .max(2048)
      .regex(BUILD_CONTEXT)
      .optional()
      .describe(
        'Kaniko build context: git://, s3://, gs://, https://, dir:// or tar:// URL. Required for kaniko.',
      ),
    dockerfile: z
      .string()
      .min(1)
      .max(1024)
      .default('Dockerfile')
      .describe('Dockerfile path inside the context.'),
    buildArgs: userMap(ENV_NAME, 4096)
      .meta({ 'x-kubernetes-validations': [envKeys] })
      .optional()
      .describe(`Build arguments. ${templated} MODEL_URI=models:/<name>/<version> is always passed.`),
    cacheRepository: z
      .string()
      .max(256)
      .regex(ECR_REPOSITORY)
      .optional()
      .describe('ECR repository for the Kaniko layer cache; created if missing. No cache when unset.'),
    activeDeadlineSeconds: apiInteger(60, 86_400)
      .default(1800)
      .describe('Build time limit in seconds. Defaults to 1800.'),
    serviceAccountName: z
      .string()
      .max(253)
      .regex(DNS_SUBDOMAIN)
      .optional()
      .describe('Service account of the build Pod (IRSA / Pod Identity for ECR push on EKS).'),
    executorImage: z
      .string()
      .max(512)
      .regex(IMAGE)
      .default(DEFAULT_EXECUTOR_IMAGE)
      .describe(
        `Kaniko executor image; pin it by digest in production. Defaults to ${DEFAULT_EXECUTOR_IMAGE}.`,
      ),
    resources: z
      .object({
        requests: resourceMap(`Resource requests, e.g. cpu: "1"; at most ${MAX_RESOURCES}.`),
        limits: resourceMap(`Resource limits, e.g. memory: 4Gi; at most ${MAX_RESOURCES}.`),
      })
      .optional()
      .describe('Resources of the build container.'),
    codebuild: z
      .object({
        projectName: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/)
          .describe('Existing CodeBuild project that builds and pushes the image.'),
      })
      .optional()
      .describe('CodeBuild settings; required when builder is codebuild.'),
  })
  .describe('How the serving image is built for each model version.');
export type BuildSpec = z.infer<typeof BuildSchema>;
/** A build spec the kaniko builder can run: the CEL rules guarantee the context. */
export type KanikoBuildSpec = BuildSpec & { builder: 'kaniko'; context: string };
/** A build spec the codebuild builder can run: the CEL rules guarantee the project. */
export type CodeBuildBuildSpec = BuildSpec & {
  builder: 'codebuild';
  codebuild: NonNullable<BuildSpec['codebuild']>;
};

export const DeploymentTargetSchema = z
  .object({
    name: z.string().max(253).regex(DNS_SUBDOMAIN).describe('Serving Deployment in the same namespace.'),
    container: z
      .string()
      .max(63)
      .regex(DNS_LABEL)
      .describe('Container of that Deployment that serves the model.'),
    env: envMap('Environment set on the container (existing variables of the same name are replaced).'),
    driftPolicy: z
      .enum(['Heal', 'Report'])
      .default('Heal')
      .describe(
        'What to do when the container image or the operator-managed env changes after a run: ' +
          'Heal puts them back (one guarded patch and an Event), Report only shows it (Ready=False, reason Drift). ' +
          'Defaults to Heal.',
      ),
    maxRestarts: apiInteger(1, 100)
      .default(3)
      .describe(
        'A rollout fails as soon as a container of its new Pods has restarted this many times ' +
          '(a model the app cannot load crash-loops long before the progress deadline). Defaults to 3.',
      ),
  })
  .describe('The serving Deployment the operator rolls to each new version. Nothing else in it is changed.');
export type DeploymentTarget = z.infer<typeof DeploymentTargetSchema>;

export const TestSchema = z
  .object({
    image: z.string().max(512).regex(IMAGE).describe('Image of the test Job; no blanks.'),
    command: z
      .array(z.string().describe('An entrypoint word.'))
      .optional()
      .describe('Entrypoint of the test container.'),
    args: z
      .array(z.string().describe('An argument.'))
      .optional()
      .describe('Arguments of the test container.'),
    env: envMap('Extra environment of the test container.'),
    timeoutSeconds: apiInteger(10, 86_400).default(600).describe('Test time limit. Defaults to 600.'),
    ttlSecondsAfterFinished: apiInteger(0, 604_800)
      .default(3600)
      .describe('How long a finished test Job is kept. Defaults to 3600.'),
    serviceAccountName: z
      .string()
      .max(253)
      .regex(DNS_SUBDOMAIN)
      .optional()
      .describe('Service account of the test Pod.'),
  })
  .describe(
    'Test Job run against the new version after the rollout; gets SERVICE_URL, MODEL_NAME, MODEL_VERSION, MODEL_URI.',
  );
export type TestSpec = z.infer<typeof TestSchema>;

export const RollbackSchema = z
  .object({
    onFailure: z
      .boolean()
      .default(true)
      .describe(
        'When a run fails after changing the serving container (the rollout misses its deadline, its Pods ' +
          'crash-loop, or the test Job fails), put the container back on the stable version (status.stable): ' +
          'its image and the env the operator manages, in one guarded patch. Defaults to true.',
      ),
  })
  .describe('What to do with the serving Deployment when a run fails.');
export type RollbackSpec = z.infer<typeof RollbackSchema>;

export const ApprovalSchema = z
  .object({
    required: z
      .boolean()
      .default(false)
      .describe(
        'Wait after build and scan, in phase AwaitingApproval, until the annotation ' +
          'mlops.healthpredict.io/approve equals the version of the run. Defaults to false.',
      ),
  })
  .describe('A person approves each version before it reaches the serving Deployment.');
export type ApprovalSpec = z.infer<typeof ApprovalSchema>;

/** The CEL rules across spec fields; `pipelineIssues` is their zod twin. */
export const pipelineRule = {
  needsImage: {
    rule: '!has(self.build) || self.build.builder == "none" || has(self.image)',
    message: 'spec.image is required when spec.build.builder is kaniko or codebuild',
  },
  needsContext: {
    rule: '!has(self.build) || self.build.builder != "kaniko" || has(self.build.context)',
    message: 'spec.build.context is required when spec.build.builder is kaniko',
  },
  needsProject: {
    rule: '!has(self.build) || self.build.builder != "codebuild" || has(self.build.codebuild)',
    message: 'spec.build.codebuild.projectName is required when spec.build.builder is codebuild',
  },
  needsDeployment: {
    rule: '!(has(self.build) || has(self.test) || has(self.image)) || has(self.deployment)',
    message: 'spec.deployment is required when spec.image, spec.build or spec.test is set',
  },
  needsBuild: {
    rule: '!has(self.deployment) || has(self.build)',
    message: 'spec.build is required when spec.deployment is set (builder: none only changes the model env)',
  },
};
export const pipelineRules = Object.values(pipelineRule);

// ---- status ----

export const ImageStatusSchema = z
  .object({
    ref: z.string().describe('Deployed image by digest: <repository>@sha256:….'),
    tag: z.string().optional().describe('Tag pushed for this version.'),
    digest: z.string().optional().describe('Image digest.'),
    builtFor: z.string().describe('Model version this image serves.'),
    reused: z.boolean().optional().describe('True when the tag already existed in ECR and no build ran.'),
    buildHash: z
      .string()
      .optional()
      .describe('Hash of the build spec (context, Dockerfile, build args, builder) the image was made from.'),
  })
  .describe('The serving image of the current version.');

export const BuildStatusSchema = z
  .object({
    builder: z.enum(['kaniko', 'codebuild']).describe('Builder that ran.'),
    name: z.string().describe('Build Job name (kaniko) or build id (codebuild).'),
    version: z.string().describe('Model version built.'),
    startedAt: z.string().describe('When the build was started (RFC 3339).'),
  })
  .describe('The build started for the current version.');

export const RolloutStatusSchema = z
  .object({
    version: z.string().describe('Model version rolled out.'),
    image: z.string().optional().describe('Image set on the container.'),
    previousImage: z.string().optional().describe('Image the container had before this rollout.'),
    startedAt: z.string().describe('When the Deployment was patched (RFC 3339).'),
  })
  .describe('The rollout of the current version.');

export const RunSchema = z
  .object({
    version: z.string().describe('Model version of this run.'),
    runId: z.string().optional().describe('MLflow run id of the version.'),
    specHash: z.string().describe('Hash of the pipeline spec this run applies.'),
    startedAt: z.string().describe('When the run started (RFC 3339).'),
    finishedAt: z.string().optional().describe('When it finished (RFC 3339).'),
    result: z.enum(Object.values(RunResult)).optional().describe('Outcome once finished.'),
    reason: z.string().optional().describe('Why it failed, in PascalCase.'),
    message: z.string().optional().describe('What failed, for people.'),
    image: z.string().optional().describe('Image deployed by digest.'),
    buildHash: z.string().optional().describe('Build hash of that image (see status.image.buildHash).'),
    retryToken: z.string().optional().describe('Retry annotation value this run answered.'),
    rollback: z
      .object({
        toVersion: z.string().describe('The stable version the serving container is put back on.'),
        startedAt: z.string().describe('When the rollback was decided (RFC 3339).'),
      })
      .optional()
      .describe('Set once the run failed after changing the serving container and is being rolled back.'),
  })
  .describe('One deployment of one model version.');
export type Run = z.infer<typeof RunSchema>;

export const ScanStatusSchema = z
  .object({
    digest: z.string().describe('Image digest scanned.'),
    status: z.string().optional().describe("ECR's imageScanStatus.status, as last seen."),
    startedAt: z.string().describe('When the gate started waiting for this scan (RFC 3339).'),
    scanStarted: z.boolean().optional().describe('True when the operator started the scan (StartImageScan).'),
    counts: z
      .record(z.string(), z.number())
      .optional()
      .describe('Findings by severity, left after spec.image.scan.ignore.'),
    ignored: z.number().optional().describe('Findings left out by spec.image.scan.ignore.'),
  })
  .describe('The scan gate of the current run.');
export type ScanStatus = z.infer<typeof ScanStatusSchema>;

export const ServingSchema = z
  .object({
    version: z.string().describe('Model version.'),
    image: z.string().describe('Image of the serving container, by digest unless builder is none.'),
    since: z.string().describe('Since when (RFC 3339).'),
  })
  .describe('What the serving container runs: the version whose rollout (or rollback) last finished.');
export type Serving = z.infer<typeof ServingSchema>;

export const StableSchema = z
  .object({
    version: z.string().describe('Model version.'),
    image: z.string().describe('Image of the serving container.'),
    env: z
      .record(z.string(), z.string())
      .describe('The env the operator manages on the serving container (spec.deployment.env and the model).'),
    since: z.string().describe('Since when (RFC 3339).'),
  })
  .describe(
    'The last version that passed its whole run, or that a rollback restored: what a failed run rolls back to.',
  );
export type Stable = z.infer<typeof StableSchema>;
export type ImageStatus = z.infer<typeof ImageStatusSchema>;
export type BuildStatus = z.infer<typeof BuildStatusSchema>;

const MeasurementsSchema = z.object({
  result: z.enum(['Running', 'Passed', 'Failed']).describe('Its outcome so far.'),
  measurements: z.number().int().min(0).optional().describe('Prometheus measurements taken.'),
  failed: z.number().int().min(0).optional().describe('Of those, how many failed.'),
  lastValue: z.string().optional().describe('The last value Prometheus answered, or why there was none.'),
  lastAt: z.string().optional().describe('When the last measurement was taken (RFC 3339).'),
});

export const PreviewStatusSchema = z
  .object({
    version: z.string().describe('Model version the preview runs.'),
    name: z.string().describe('Name of the preview Deployment and of its Service.'),
    startedAt: z.string().describe('When the preview of this version was created or updated (RFC 3339).'),
    promotedAt: z
      .string()
      .optional()
      .describe('When promotion began: the tests passed (and approval was given) (RFC 3339).'),
    activeService: z
      .string()
      .optional()
      .describe('The Service switched to the preview Pods, until it is switched back.'),
    analysis: MeasurementsSchema.optional().describe(
      'The pre-promotion Prometheus analysis of the preview (spec.strategy.blueGreen.prePromotionAnalysis).',
    ),
  })
  .describe('Blue-green: the preview of the current or last run, until it is removed.');

export const CanaryStatusSchema = z
  .object({
    version: z.string().describe('Model version the canary runs.'),
    name: z.string().describe('Name of the canary Deployment and of its Service.'),
    step: z
      .number()
      .int()
      .min(0)
      .describe('Index of the step at work in spec.strategy.canary.steps; their count once all passed.'),
    progress: z.string().describe('The step for people, e.g. "2/5: pause 1m" (kubectl get md shows it).'),
    weight: z.number().int().min(0).max(100).describe('Percent of the serving replicas the canary runs.'),
    replicas: z.number().int().min(0).describe('Replicas of the canary Deployment.'),
    stepStartedAt: z.string().describe('When the step at work began (RFC 3339).'),
    lastAnalysis: MeasurementsSchema.extend({
      step: z.number().int().min(0).describe('Index of the analysis step.'),
      testJob: z.string().optional().describe('The test Job that ran against the canary (testJob).'),
    })
      .optional()
      .describe('The last analysis of the canary.'),
  })
  .describe(
    'Canary: where the run of the version is in spec.strategy.canary.steps, until the canary is removed.',
  );
export type CanaryStatus = z.infer<typeof CanaryStatusSchema>;

export const pipelineStatusFields = {
  preview: PreviewStatusSchema.optional(),
  canary: CanaryStatusSchema.optional(),
  image: ImageStatusSchema.optional(),
  build: BuildStatusSchema.optional(),
  rollout: RolloutStatusSchema.optional(),
  testJob: z.string().optional().describe('Name of the test Job of the current version.'),
  scan: ScanStatusSchema.optional(),
  serving: ServingSchema.optional(),
  stable: StableSchema.optional(),
  currentRun: RunSchema.optional().describe('The deployment in progress or last finished.'),
  history: z
    .array(RunSchema)
    .optional()
    .describe('Last deployments, newest first; bounded by spec.historyLimit.'),
};

interface PipelineSpecShape {
  image?: unknown;
  build?: { builder: string; context?: string; codebuild?: unknown };
  deployment?: unknown;
  test?: unknown;
}

/** The zod twin of `pipelineRules`, in the same order. */
export function pipelineIssues(spec: PipelineSpecShape): { path: string[]; message: string }[] {
  const { needsImage, needsContext, needsProject, needsDeployment, needsBuild } = pipelineRule;
  const issues: { path: string[]; message: string }[] = [];
  const { build } = spec;
  if (build && build.builder !== 'none' && !spec.image)
    issues.push({ path: ['image'], message: needsImage.message });
  if (build?.builder === 'kaniko' && !build.context)
    issues.push({ path: ['build', 'context'], message: needsContext.message });
  if (build?.builder === 'codebuild' && !build.codebuild) {
    issues.push({ path: ['build', 'codebuild'], message: needsProject.message });
  }
  if ((build || spec.test || spec.image) && !spec.deployment) {
    issues.push({ path: ['deployment'], message: needsDeployment.message });
  }
  if (spec.deployment && !build) issues.push({ path: ['build'], message: needsBuild.message });
  return issues;
}
