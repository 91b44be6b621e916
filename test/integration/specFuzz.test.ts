// The zod schema and the apiserver (the generated CRD: OpenAPI + CEL) must accept and refuse the
// same ModelDeployments. Generates specs from the schema's shape, mostly near-valid, with
// mutations from the classes that once split them (Unicode spaces, odd map keys, fractional
// integers, long strings in UTF-16 vs characters, quantities, missing and extra fields), and
// compares zod with a server-side dry-run create. Every spec both accept is then reconciled once
// against fakes: only a normal result or a typed error may come out.
//
// The CRD is installed under a group of its own (test/helpers/privateCrd.ts).
// FUZZ_SEED and FUZZ_RUNS override the fixed seed and the count.
import { CustomObjectsApi } from '@kubernetes/client-node';
import fc from 'fast-check';
import {
  ModelDeploymentSpecStrictSchema,
  nameIssue,
  VERSION,
} from '../../src/api/v1alpha1/modelDeployment.js';
import { Transient } from '../../src/runtime/errors.js';
import { kubeConfig } from '../helpers/bed.js';
import { createNamespace, deleteNamespace } from '../helpers/kubectl.js';
import { installPrivateCrd, type PrivateCrd } from '../helpers/privateCrd.js';
import { modelDeployment } from '../unit/helpers/pipelineFixtures.js';
import { setupReconciler } from '../unit/helpers/reconcilerHarness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

// ---- the generator ----
// A valid spec of one of the pipeline shapes, then up to two mutations drawn from the classes
// that once split zod and the apiserver.

const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-api';
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const ENV_KEYS = ['MODEL_URI', 'my.var-1', '_X', '.hidden'];
const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage', 'nvidia.com/gpu', 'hugepages-2Mi'];
const QUANTITIES = ['1', '500m', '1.5Gi', '1e3', '1E', '.5', '1.', '+1', '0', '10G'];
const userMap = fc.dictionary(fc.constantFrom(...ENV_KEYS), fc.constantFrom('v', '{version}', ''), {
  maxKeys: 3,
});
const resourceMap = fc.dictionary(fc.constantFrom(...RESOURCE_NAMES), fc.constantFrom(...QUANTITIES), {
  maxKeys: 3,
});

const modelArb = fc.record({
  name: fc.constantFrom('Churn', 'Health Predict.v2', 'chûrn', '日本モデル'),
  ref: fc.oneof(
    fc.constantFrom('Production', 'Staging').map((stage) => ({ stage })),
    fc
      .constantFrom('champion', 'chámpion', 'blue-2_x', '日本', '\u{1D400}'.repeat(200))
      .map((alias) => ({ alias })),
  ),
  pollInterval: opt(fc.constantFrom('10s', '1m30s', '1.5h', '2562047h')),
});
const pipelineArb = fc.oneof(
  fc.constant({}),
  fc.record({
    build: fc.record({ builder: fc.constant('none') }),
    deployment: fc.record({
      name: fc.constant('churn-api'),
      container: fc.constant('api'),
      env: opt(userMap),
    }),
  }),
  fc.record({
    image: fc.record({ repository: fc.constant(REPO), tagTemplate: opt(fc.constant('v{version}')) }),
    build: fc.record(
      {
        builder: fc.constant('kaniko'),
        context: fc.constantFrom('git://github.com/acme/churn.git#refs/heads/main', 's3://bucket/ctx.tgz'),
        buildArgs: opt(userMap),
        activeDeadlineSeconds: opt(fc.integer({ min: 60, max: 86_400 })),
        executorImage: opt(fc.constant('gcr.io/kaniko-project/executor:v1.23.2')),
        resources: opt(fc.record({ requests: opt(resourceMap), limits: opt(resourceMap) })),
      },
      { requiredKeys: ['builder', 'context'] },
    ),
    deployment: fc.record({
      name: fc.constant('churn-api'),
      container: fc.constant('api'),
      env: opt(userMap),
    }),
    test: opt(
      fc.record({
        image: fc.constantFrom('busybox:1.36', `acme/churn-tests@sha256:${'a'.repeat(64)}`),
        env: opt(userMap),
        timeoutSeconds: opt(fc.integer({ min: 10, max: 86_400 })),
      }),
    ),
  }),
  fc.record({
    image: fc.record({ repository: fc.constant(REPO) }),
    build: fc.record({
      builder: fc.constant('codebuild'),
      codebuild: fc.record({ projectName: fc.constant('hp-build') }),
    }),
    deployment: fc.record({ name: fc.constant('churn-api'), container: fc.constant('api') }),
  }),
);
const baseArb = fc
  .tuple(modelArb, pipelineArb, opt(fc.integer({ min: 1, max: 50 })))
  .map(([m, pipeline, historyLimit]) => ({
    model: { name: m.name, ...m.ref, ...(m.pollInterval ? { pollInterval: m.pollInterval } : {}) },
    registry: { trackingUri: 'http://mlflow:5000' },
    ...pipeline,
    ...(historyLimit !== undefined ? { historyLimit } : {}),
  }));

// Mutations: a path and the value to put there (undefined deletes).
type Mutation = { path: string[]; value: unknown };
const at = (paths: string[], values: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
  fc.tuple(fc.constantFrom(...paths), values).map(([path, value]) => ({ path: path.split('.'), value }));

const BLANKS = [
  ' ',
  '\t',
  '\n',
  '\u000b',
  '\f',
  '\r',
  '\u0085',
  '\u00a0',
  '\u2003',
  '\u2028',
  '\u3000',
  '\ufeff',
];
const CHARS = [...'aZ09._-/:%=@', ...BLANKS, 'é', 'ß', '日', '\u0301', '\u0663', '\u{1F600}', '\u{1D400}'];
const oddString = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 12 });
const STRING_PATHS = [
  'model.name',
  'model.alias',
  'registry.trackingUri',
  'registry.credentialsSecretRef.name',
  'image.repository',
  'image.tagTemplate',
  'build.context',
  'build.dockerfile',
  'build.executorImage',
  'deployment.name',
  'deployment.container',
  'test.image',
];
const blankAround = fc
  .tuple(fc.constantFrom(...STRING_PATHS), fc.constantFrom(...BLANKS), fc.boolean())
  .map(([path, blank, before]) => ({ path: path.split('.'), blank, before }));
const LIMITS: [string, number][] = [
  ['model.name', 256],
  ['model.alias', 255],
  ['build.dockerfile', 1024],
  ['build.executorImage', 512],
  ['test.image', 512],
  ['build.buildArgs.X', 4096],
  ['deployment.env.X', 4096],
];
const long = fc
  .tuple(fc.constantFrom(...LIMITS), fc.constantFrom('x', 'é', '\u{1F600}'), fc.constantFrom(0, 1))
  .map(([[path, max], ch, over]) => ({ path: path.split('.'), value: ch.repeat(max + over) }));
const INT_PATHS: [string, number, number][] = [
  ['registry.timeoutSeconds', 1, 300],
  ['build.activeDeadlineSeconds', 60, 86_400],
  ['test.timeoutSeconds', 10, 86_400],
  ['test.ttlSecondsAfterFinished', 0, 604_800],
  ['historyLimit', 1, 50],
];
const oddInt = fc
  .tuple(
    fc.constantFrom(...INT_PATHS),
    fc.constantFrom(
      'min',
      'max',
      'max+1',
      'min-1',
      '+1e-7',
      '+2e-7',
      '+1e-10',
      '-1e-10',
      '+0.5',
      '1e-19',
      '2^53+1',
    ),
  )
  .map(([[path, min, max], how]) => {
    const value = {
      min,
      max,
      'max+1': max + 1,
      'min-1': min - 1,
      '+1e-7': min + 1e-7,
      '+2e-7': min + 2e-7,
      '+1e-10': max + 1e-10,
      '-1e-10': min - 1e-10,
      '+0.5': min + 0.5,
      '1e-19': 1e-19,
      '2^53+1': 2 ** 53 + 1,
    }[how];
    return { path: path.split('.'), value };
  });
const ODD_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  '1BAD',
  'A=B',
  '..X',
  '.',
  '..',
  '',
  'A B',
  'É',
  'A\u00a0',
  '-x',
  'x'.repeat(300),
];
const oddKey = at(
  ['build.buildArgs', 'deployment.env', 'test.env'],
  fc.constantFrom(...ODD_KEYS).map((k) => ({ [k]: 'v' })),
);
const ODD_QUANTITIES = [
  '-1',
  '-1Gi',
  'abc',
  ' 1',
  '1 ',
  '1ki',
  '1e',
  '',
  '.',
  '+',
  'Gi',
  '1e1.5',
  '1\u00a0',
  '1e99999',
];
const ODD_RESOURCE_NAMES = ['my gpu', 'CPU', 'example.com/', '/gpu', 'a/b/c', 'cpu\u00a0', 'x'.repeat(300)];
const oddResources = at(
  ['build.resources.requests', 'build.resources.limits'],
  fc.oneof(
    fc.constantFrom(...ODD_QUANTITIES).map((q) => ({ cpu: q })),
    fc.constantFrom(...ODD_RESOURCE_NAMES).map((n) => ({ [n]: '1' })),
    fc
      .integer({ min: 15, max: 18 })
      .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`example.com/r${i}`, '1']))),
  ),
);
const mutationArb: fc.Arbitrary<Mutation | { path: string[]; blank: string; before: boolean }> = fc.oneof(
  blankAround,
  at(STRING_PATHS, oddString),
  long,
  oddInt,
  oddKey,
  oddResources,
  at(['model.alias'], fc.constantFrom('cha\u0301mpion', 'v1', 'v\u0663', 'Latest', 'a b', '', 'a/b')),
  at(['model.pollInterval'], fc.constantFrom('9s', '60', 'soon', '9999999999h', '2562048h', '1.5')),
  at(['model.stage'], fc.constantFrom('Production', 'Prod')),
  at(
    ['model.name', 'registry.trackingUri', 'deployment.container', 'test.image', 'model', 'build.builder'],
    fc.constant(undefined),
  ),
  at(['unknownField', 'model.extra'], fc.constant('pruned')),
);

function mutate(
  spec: Record<string, unknown>,
  m: Mutation | { path: string[]; blank: string; before: boolean },
) {
  let node = spec;
  for (const key of m.path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = m.path[m.path.length - 1] as string;
  if ('blank' in m) {
    const current = typeof node[last] === 'string' ? (node[last] as string) : 'x';
    node[last] = m.before ? m.blank + current : current + m.blank;
  } else if (m.value === undefined) delete node[last];
  else if (typeof m.value === 'object' && typeof node[last] === 'object' && node[last] !== null)
    Object.assign(node[last] as object, m.value);
  else node[last] = m.value;
}

const specArb = fc.tuple(baseArb, fc.array(mutationArb, { maxLength: 2 })).map(([base, mutations]) => {
  const spec = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (const m of mutations) mutate(spec, m);
  return spec;
});
const nameArb = fc.oneof(
  { arbitrary: fc.constant('churn'), weight: 8 },
  { arbitrary: fc.integer({ min: 60, max: 70 }).map((n) => `n${'x'.repeat(n - 2)}1`), weight: 1 },
);

// ---- the bed ----

let ns: string;
const kc = kubeConfig();
const objects = kc.makeApiClient(CustomObjectsApi);

let crd: PrivateCrd;
beforeAll(async () => {
  crd = await installPrivateCrd('fuzz');
  ns = await createNamespace('fuzz');
});
afterAll(async () => {
  await deleteNamespace(ns);
  await crd.remove();
});

interface Verdict {
  apiserver: boolean;
  said?: string;
  stored?: { metadata: { name: string }; spec: Record<string, unknown> };
}

async function dryRun(name: string, spec: Record<string, unknown>): Promise<Verdict> {
  try {
    const stored = (await objects.createNamespacedCustomObject({
      group: crd.group,
      version: VERSION,
      namespace: ns,
      plural: crd.plural,
      body: JSON.parse(crd.manifest(ns, name, spec)) as object,
      dryRun: 'All',
    })) as Verdict['stored'];
    return { apiserver: true, stored };
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code !== 422 && code !== 400) throw err;
    const body = String((err as { body?: unknown }).body);
    let said = body;
    try {
      said = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not JSON: keep the text
    }
    return { apiserver: false, said: said.slice(0, 400) };
  }
}

/** One reconcile against fakes; anything but a result or a typed error is returned. */
async function untypedFailure(stored: NonNullable<Verdict['stored']>): Promise<unknown> {
  // The harness keys its store by the churn object's name; the spec is what varies.
  const t = setupReconciler({ md: modelDeployment(stored.spec) });
  try {
    await t.reconcile();
    return undefined;
  } catch (err) {
    return err instanceof Transient ? undefined : err;
  }
}

test(`zod and the apiserver agree on ${RUNS} generated specs (seed ${SEED})`, async () => {
  const samples = fc.sample(fc.tuple(nameArb, specArb), { seed: SEED, numRuns: RUNS });
  const disagreements: unknown[] = [];
  const throws: unknown[] = [];
  const summary: string[] = [];
  let accepted = 0;
  const queue = samples.map(([name, raw], i) => ({ i, name, spec: JSON.parse(JSON.stringify(raw)) }));
  const worker = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      const parsed = ModelDeploymentSpecStrictSchema.safeParse(s.spec);
      const zod = parsed.success && nameIssue(s.name) === undefined;
      const verdict = await dryRun(s.name, s.spec);
      if (zod !== verdict.apiserver) {
        // One line a disagreement, to see the classes at a glance.
        const where = parsed.success
          ? 'metadata.name'
          : parsed.error.issues.map((i) => i.path.join('.')).join(',');
        summary.push(
          `#${s.i} ${verdict.apiserver ? `apiserver accepts, zod refuses ${where}` : `zod accepts, apiserver refuses: ${(verdict.said ?? '').replace(/^.*is invalid: /, '').slice(0, 120)}`}`,
        );
        disagreements.push({
          sample: s.i,
          name: s.name.length > 20 ? `${s.name.length} characters` : s.name,
          spec: s.spec,
          apiserver: verdict.apiserver ? 'accepted' : verdict.said,
          zod: parsed.success ? (nameIssue(s.name) ?? 'accepted') : parsed.error.issues.slice(0, 3),
        });
      } else if (zod && verdict.stored) {
        accepted++;
        const failure = await untypedFailure(verdict.stored);
        if (failure !== undefined)
          throws.push({ sample: s.i, spec: s.spec, failure: (failure as Error).stack ?? String(failure) });
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  const counts = {
    seed: SEED,
    generated: samples.length,
    accepted,
    refused: samples.length - accepted - disagreements.length,
    disagreements: disagreements.length,
    untypedThrows: throws.length,
  };
  console.log(`spec fuzz: ${JSON.stringify(counts)}`);
  if (disagreements.length > 0 || throws.length > 0) {
    console.log(`disagreements (seed ${SEED}):\n${summary.slice(0, 50).join('\n')}`);
    console.log(`the first in full:\n${JSON.stringify(disagreements.slice(0, 3), null, 1)}`);
    console.log(`untyped throws (seed ${SEED}):\n${JSON.stringify(throws.slice(0, 3), null, 1)}`);
  }
  expect(counts).toMatchObject({ disagreements: 0, untypedThrows: 0 });
  // The generator must exercise both sides, or the test proves nothing.
  expect(accepted).toBeGreaterThan(RUNS / 10);
  expect(counts.refused).toBeGreaterThan(RUNS / 10);
});
