// The Argo CD health check (health/argocd/modeldeployment.lua), run by a real Lua (lua5.4 +
// lua-cjson, installed by test/bed/lua.sh) the way Argo CD runs it: against ModelDeployments the
// operator drives on the bed and reads back with `kubectl get -o json`, against the statuses
// summarize() writes, and against hand-written statuses for the branches neither reaches.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { summarize, type Outcome } from '../../src/controller/summarize.js';
import { argocdHealth, HEALTH_KEY, HEALTH_SCRIPT, HEALTH_SNIPPET } from '../helpers/argocdHealth.js';
import { registryHost } from '../helpers/aws.js';
import { bed } from '../helpers/bed.js';
import { kubectl, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { freePort } from '../helpers/mlflowServer.js';
import {
  applyMd,
  condition,
  getMd,
  isStalled,
  type MdObject,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('argocd');
const unique = () => Date.now().toString(36);
const registry = () => ({ trackingUri: bed.mlflowUri });
const health = (md: MdObject) => argocdHealth(md);

/** Resolution only (no deployment): follows alias champion of the bed's seeded model. */
const resolveOnly = (extra: Record<string, unknown> = {}) => ({
  model: { name: bed.modelName, alias: 'champion', pollInterval: '10s' },
  registry: registry(),
  ...extra,
});

/** A full pipeline for a model of its own: Kaniko build (the bed's stand-in), rollout, tests. */
async function pipeline(md: string, buildArgs: Record<string, string>): Promise<string> {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion(md);
  await createServingDeployment(env.ns, `api-${md}`);
  await applyMd(env.ns, md, {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: registry(),
    image: { repository: `${registryHost}/argocd-${md}-${unique()}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git', buildArgs },
    deployment: { name: `api-${md}`, container: 'api' },
    test: { image: 'registry.example/tests:1' },
  });
  return version;
}

const ready = (m: MdObject) =>
  m.status?.observedGeneration === m.metadata.generation && condition(m, 'Ready')?.status === 'True';
const waitReady = (name: string, timeout: string) =>
  kubectl(['-n', env.ns, 'wait', '--for=condition=Ready', `--timeout=${timeout}`, `modeldeployment/${name}`]);

describe('ModelDeployments on the bed', () => {
  test('Succeeded → Healthy, with the Ready message', async () => {
    await applyMd(env.ns, 'resolved', resolveOnly());
    const md = await waitForMd(env.ns, 'resolved', 'Ready', ready);
    expect(md.status?.phase).toBe('Succeeded');
    expect(health(md)).toEqual({ status: 'Healthy', message: condition(md, 'Ready')?.message });
    expect(health(md).message).not.toBe('');
  });

  test('a Kaniko build in progress → Progressing; the finished run → Healthy', async () => {
    const version = await pipeline('slow-build', { TESTBED_BUILD_SECONDS: '20' });
    const building = await waitForMd(env.ns, 'slow-build', 'Building', (m) => m.status?.phase === 'Building');
    expect(condition(building, 'Reconciling')?.status).toBe('True');
    expect(health(building)).toEqual({
      status: 'Progressing',
      message: condition(building, 'Reconciling')?.message,
    });

    const done = await waitForMd(env.ns, 'slow-build', 'Succeeded', succeededAt(version), 120_000);
    expect(health(done)).toEqual({ status: 'Healthy', message: condition(done, 'Ready')?.message });
  });

  test('MLflow unreachable (retried with backoff) → Progressing', async () => {
    const port = await freePort(); // nothing listens there
    await applyMd(
      env.ns,
      'unreachable',
      resolveOnly({ registry: { trackingUri: `http://127.0.0.1:${port}` } }),
    );
    const md = await waitForMd(
      env.ns,
      'unreachable',
      'RegistryUnavailable',
      (m) => condition(m, 'Ready')?.reason === 'RegistryUnavailable',
    );
    expect(condition(md, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ProgressingWithRetry' });
    expect(health(md)).toEqual({ status: 'Progressing', message: condition(md, 'Reconciling')?.message });
  });

  test('a failed build (Stalled BuildFailed, phase Failed) → Degraded, with the Stalled message', async () => {
    await pipeline('bad-build', { TESTBED_OUTCOME: 'fail' });
    const md = await waitForMd(env.ns, 'bad-build', 'Failed', (m) => m.status?.phase === 'Failed', 90_000);
    expect(condition(md, 'Stalled')).toMatchObject({ status: 'True', reason: 'BuildFailed' });
    expect(health(md)).toEqual({ status: 'Degraded', message: condition(md, 'Stalled')?.message });
  });

  test('a model MLflow does not know (Stalled ModelNotFound) → Degraded', async () => {
    const missing = `missing-${unique()}`;
    await applyMd(env.ns, 'no-model', resolveOnly({ model: { name: missing, alias: 'champion' } }));
    const md = await waitForMd(env.ns, 'no-model', 'Stalled', isStalled);
    expect(condition(md, 'Stalled')?.reason).toBe('ModelNotFound');
    expect(health(md)).toEqual({
      status: 'Degraded',
      message: `MLflow has no registered model named "${missing}"; register it in MLflow or fix spec.model.name`,
    });
  });

  test('spec.suspend → Suspended, though the status still describes the previous generation; resumed → Healthy', async () => {
    await applyMd(env.ns, 'pausable', resolveOnly());
    await waitForMd(env.ns, 'pausable', 'Ready', ready);

    await applyMd(env.ns, 'pausable', resolveOnly({ suspend: true }));
    const suspended = await getMd(env.ns, 'pausable');
    expect(suspended.spec.suspend).toBe(true);
    expect(health(suspended)).toEqual({
      status: 'Suspended',
      message: 'Reconciliation is suspended (spec.suspend is true)',
    });
    // A suspended object is not reconciled: nothing observes the generation that suspended it.
    await new Promise((r) => setTimeout(r, 2_000));
    const later = await getMd(env.ns, 'pausable');
    expect(later.status?.observedGeneration).toBeLessThan(later.metadata.generation);
    expect(health(later).status).toBe('Suspended');

    await applyMd(env.ns, 'pausable', resolveOnly());
    const resumed = await waitForMd(env.ns, 'pausable', 'resumed and Ready', ready);
    expect(health(resumed)).toEqual({ status: 'Healthy', message: condition(resumed, 'Ready')?.message });
  });

  test('a generation the operator has not observed yet → Progressing, also for a new object without status', async () => {
    await applyMd(env.ns, 'edited', resolveOnly());
    await waitForMd(env.ns, 'edited', 'Ready', ready);

    await env.operator.stop(); // nothing observes the edits below until it is back
    try {
      await applyMd(
        env.ns,
        'edited',
        resolveOnly({ model: { ...resolveOnly().model, pollInterval: '11s' } }),
      );
      const edited = await getMd(env.ns, 'edited');
      expect(edited.metadata.generation).toBeGreaterThan(edited.status?.observedGeneration ?? 0);
      expect(condition(edited, 'Ready')?.status).toBe('True'); // stale: true of the previous spec
      expect(health(edited)).toEqual({
        status: 'Progressing',
        message: `Waiting for the operator to observe generation ${edited.metadata.generation}`,
      });
      // kubectl wait (docs/health.md) also ignores a Ready=True computed for an older generation.
      expect((await waitReady('edited', '1s')).code).not.toBe(0);

      await applyMd(env.ns, 'fresh', resolveOnly());
      const fresh = await getMd(env.ns, 'fresh');
      expect(fresh.status).toBeUndefined();
      expect(health(fresh)).toEqual({
        status: 'Progressing',
        message: 'Waiting for the operator to observe generation 1',
      });
    } finally {
      await env.operator.start();
    }
    for (const name of ['edited', 'fresh']) {
      const md = await waitForMd(env.ns, name, 'observed and Ready', ready);
      expect(health(md).status).toBe('Healthy');
      expect((await waitReady(name, '30s')).code).toBe(0);
    }
  });
});

describe('the argocd-cm snippet', () => {
  const lua = readFileSync(HEALTH_SCRIPT, 'utf8');

  test('merges into an argocd-cm ConfigMap with kubectl patch, keeping its other keys', async () => {
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-cm', namespace: env.ns },
        data: { 'timeout.reconciliation': '180s' },
      }),
    );
    await kubectlOk([
      '-n',
      env.ns,
      'patch',
      'configmap',
      'argocd-cm',
      '--type',
      'merge',
      '--patch-file',
      HEALTH_SNIPPET,
    ]);
    const cm = JSON.parse(await kubectlOk(['-n', env.ns, 'get', 'configmap', 'argocd-cm', '-o', 'json'])) as {
      data: Record<string, string>;
    };
    const snippet = parseYaml(readFileSync(HEALTH_SNIPPET, 'utf8')) as { data: Record<string, string> };
    expect(cm.data).toEqual({ 'timeout.reconciliation': '180s', ...snippet.data });
    expect(cm.data[HEALTH_KEY]).toBe(lua);
  });
});

describe('the statuses summarize() writes', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const object = (outcome: Outcome, generation = 4, activePhase: 'Building' | 'Resolving' = 'Building') => ({
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'md', namespace: 'ns', generation },
    spec: {},
    status: summarize({ status: {}, outcome, activePhase, generation, now }),
  });

  const outcomes: [string, Outcome, string][] = [
    ['succeeded', { kind: 'succeeded', message: 'Version 7 is deployed' }, 'Healthy'],
    [
      'progressing',
      { kind: 'progressing', reason: 'BuildRunning', message: 'Kaniko Job is running' },
      'Progressing',
    ],
    [
      'retrying',
      { kind: 'retrying', reason: 'RegistryUnavailable', message: 'MLflow is down' },
      'Progressing',
    ],
    ['stalled', { kind: 'stalled', reason: 'BuildFailed', message: 'the build failed' }, 'Degraded'],
    [
      'rolling back',
      { kind: 'progressing', reason: 'RollingBack', message: 'version 4 failed (TestsFailed); rolling back' },
      'Progressing',
    ],
    [
      'rolled back',
      {
        kind: 'stalled',
        reason: 'RolledBack',
        message: 'version 4 failed (TestsFailed): …; rolled back to version 3',
        phase: 'RolledBack',
      },
      'Degraded',
    ],
  ];
  test.each(outcomes.map(([kind, outcome, expected]) => [kind, expected, outcome] as const))(
    '%s → %s',
    (_kind, expected, outcome) => {
      const message = outcome.kind === 'idle' ? '' : outcome.message;
      expect(argocdHealth(object(outcome))).toEqual({ status: expected, message });
    },
  );

  test('an idle reconcile keeps the verdict of the last one', () => {
    const last = object({ kind: 'stalled', reason: 'ModelNotFound', message: 'no such model' }, 4);
    const idle = summarize({
      status: last.status,
      outcome: { kind: 'idle' },
      activePhase: 'Resolving',
      generation: 5,
      now,
    });
    expect(argocdHealth({ ...last, metadata: { ...last.metadata, generation: 5 }, status: idle })).toEqual({
      status: 'Degraded',
      message: 'no such model',
    });
  });
});

describe('hand-written statuses', () => {
  const cond = (type: string, status: string, message = `${type} message`, reason = `${type}Reason`) => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: '2026-01-01T00:00:00Z',
  });
  const md = (status: unknown, extra: { generation?: number; suspend?: boolean } = {}) => ({
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'md', namespace: 'ns', generation: extra.generation ?? 3 },
    spec: {
      model: { name: 'm', alias: 'champion' },
      ...(extra.suspend !== undefined ? { suspend: extra.suspend } : {}),
    },
    ...(status === undefined ? {} : { status }),
  });
  const observed = (conditions: unknown[]) => ({ observedGeneration: 3, conditions });

  const cases: [string, unknown, string, string][] = [
    ['no status', md(undefined), 'Progressing', 'Waiting for the operator to observe generation 3'],
    [
      'awaiting approval: suspended until a person approves',
      md({
        ...observed([
          cond('Ready', 'False'),
          cond('Reconciling', 'True'),
          cond('Approved', 'False', 'approve 4'),
        ]),
        phase: 'AwaitingApproval',
      }),
      'Suspended',
      'approve 4',
    ],
    [
      'approved, rolling out',
      md({
        ...observed([
          cond('Ready', 'False'),
          cond('Reconciling', 'True', 'rolling'),
          cond('Approved', 'True'),
        ]),
        phase: 'Deploying',
      }),
      'Progressing',
      'rolling',
    ],
    [
      'blue-green preview coming up',
      md({
        ...observed([
          cond('Ready', 'False'),
          cond('Reconciling', 'True', 'preview of version 4: 1 of 2 updated replicas are available'),
          cond('Previewed', 'False'),
        ]),
        phase: 'Previewing',
      }),
      'Progressing',
      'preview of version 4: 1 of 2 updated replicas are available',
    ],
    [
      'canary paused between steps',
      md({
        ...observed([
          cond('Ready', 'False'),
          cond('Reconciling', 'True', '2/4: pause 1m: 42 s left'),
          cond('CanaryPassed', 'False'),
        ]),
        phase: 'Canary',
        canary: {
          version: '4',
          name: 'md-canary',
          step: 1,
          progress: '2/4: pause 1m',
          weight: 25,
          replicas: 1,
        },
      }),
      'Progressing',
      '2/4: pause 1m: 42 s left',
    ],
    [
      'canary pause waiting for a person: suspended',
      md({
        ...observed([
          cond('Ready', 'False'),
          cond('Reconciling', 'True'),
          cond('CanaryPassed', 'False'),
          cond('Approved', 'False', 'approve 4'),
        ]),
        phase: 'AwaitingApproval',
      }),
      'Suspended',
      'approve 4',
    ],
    [
      'canary aborted by its analysis',
      md({
        ...observed([
          cond('Ready', 'False'),
          cond('Stalled', 'True', 'test Job "md-test-v4-1" failed'),
          cond('CanaryPassed', 'False'),
        ]),
        phase: 'Failed',
      }),
      'Degraded',
      'test Job "md-test-v4-1" failed',
    ],
    ['status: null', md(null), 'Progressing', 'Waiting for the operator to observe generation 3'],
    [
      'status without observedGeneration',
      md({ conditions: [cond('Ready', 'True')] }),
      'Progressing',
      'Waiting for the operator to observe generation 3',
    ],
    [
      'Ready=True for an older generation',
      md({ observedGeneration: 2, conditions: [cond('Ready', 'True')] }),
      'Progressing',
      'Waiting for the operator to observe generation 3',
    ],
    [
      'Stalled for an older generation',
      md({ observedGeneration: 2, conditions: [cond('Ready', 'False'), cond('Stalled', 'True')] }),
      'Progressing',
      'Waiting for the operator to observe generation 3',
    ],
    [
      'suspended, status of an older generation',
      md({ observedGeneration: 2, conditions: [cond('Ready', 'True')] }, { suspend: true }),
      'Suspended',
      'Reconciliation is suspended (spec.suspend is true)',
    ],
    [
      'suspended, no status',
      md(undefined, { suspend: true }),
      'Suspended',
      'Reconciliation is suspended (spec.suspend is true)',
    ],
    [
      'suspended while Stalled',
      md(observed([cond('Ready', 'False'), cond('Stalled', 'True')]), { suspend: true }),
      'Suspended',
      'Reconciliation is suspended (spec.suspend is true)',
    ],
    [
      'suspend: false, Ready',
      md(observed([cond('Ready', 'True')]), { suspend: false }),
      'Healthy',
      'Ready message',
    ],
    [
      'Ready=True',
      md(observed([cond('Ready', 'True', 'Version 7 is deployed')])),
      'Healthy',
      'Version 7 is deployed',
    ],
    [
      'Stalled=True, Ready=False',
      md(observed([cond('Ready', 'False', 'ready says'), cond('Stalled', 'True', 'the build failed')])),
      'Degraded',
      'the build failed',
    ],
    [
      'Stalled=True wins over a contradictory Ready=True',
      md(observed([cond('Ready', 'True'), cond('Stalled', 'True', 'stuck')])),
      'Degraded',
      'stuck',
    ],
    [
      'Reconciling=True, Ready=False',
      md(
        observed([
          cond('Ready', 'False', 'ready says'),
          cond('Reconciling', 'True', 'Kaniko Job is running'),
        ]),
      ),
      'Progressing',
      'Kaniko Job is running',
    ],
    [
      'Reconciling=True, Ready=Unknown',
      md(observed([cond('Ready', 'Unknown'), cond('Reconciling', 'True', 'working')])),
      'Progressing',
      'working',
    ],
    [
      'Ready=False, neither Reconciling nor Stalled',
      md(observed([cond('Ready', 'False', 'gave up')])),
      'Degraded',
      'gave up',
    ],
    [
      'Ready=False, Reconciling and Stalled False',
      md(
        observed([cond('Ready', 'False', 'gave up'), cond('Reconciling', 'False'), cond('Stalled', 'False')]),
      ),
      'Degraded',
      'gave up',
    ],
    [
      'Ready=Unknown alone',
      md(observed([cond('Ready', 'Unknown', 'not sure yet')])),
      'Progressing',
      'not sure yet',
    ],
    [
      'observed, no conditions',
      md({ observedGeneration: 3 }),
      'Progressing',
      'Waiting for the operator to report the Ready condition',
    ],
    [
      'observed, only step conditions',
      md(observed([cond('ModelResolved', 'True')])),
      'Progressing',
      'Waiting for the operator to report the Ready condition',
    ],
    [
      'an empty message falls back to the reason',
      md(observed([cond('Stalled', 'True', '', 'BuildFailed')])),
      'Degraded',
      'BuildFailed',
    ],
    ['no message nor reason', md(observed([{ type: 'Ready', status: 'True' }])), 'Healthy', 'Ready is True'],
  ];
  test.each(cases.map(([name, obj, status, message]) => [name, status, obj, message] as const))(
    '%s → %s',
    (_name, status, obj, message) => {
      expect(argocdHealth(obj)).toEqual({ status, message });
    },
  );

  test('generation 1 and large generations print as integers', () => {
    expect(argocdHealth(md(undefined, { generation: 1 })).message).toBe(
      'Waiting for the operator to observe generation 1',
    );
    expect(argocdHealth(md({ observedGeneration: 1 }, { generation: 123456789 })).message).toBe(
      'Waiting for the operator to observe generation 123456789',
    );
  });
});
