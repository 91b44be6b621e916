// Rollback of a failed rollout, on the bed's real node: Pods that never become ready miss the
// Deployment's progress deadline, and Pods whose container exits crash-loop; both are rolled back
// to the version before, whose Pods the kubelet runs and reports ready again. builder none keeps
// it quick (only the model env changes); the container is the bed's Python image, told by its
// env which version to fail.
import { bed } from '../helpers/bed.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  eventsFor,
  requestReconcile,
  succeededAt,
  waitForMd,
  type MdObject,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createRealNodeNamespace, realNode } from '../helpers/realNode.js';
import { pods } from '../helpers/demo.js';

const env = operatorInNamespace('real-rollback', createRealNodeNamespace);
const mlflow = () => new MlflowAdmin(bed.mlflowUri);

/** A one-replica Deployment on the real node whose container exits when MODEL_VERSION is
 * CRASH_VERSION and is never ready when it is NOT_READY_VERSION. */
async function createServing(name: string, failing: { crash?: string; notReady?: string }, deadline: number) {
  const script =
    'if [ "$MODEL_VERSION" = "$CRASH_VERSION" ]; then echo "cannot load model $MODEL_VERSION" >&2; exit 3; fi; ' +
    'exec python3 -m http.server 8080';
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: env.ns },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: deadline,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'api',
                image: realNode.pythonImage,
                command: ['sh', '-c', script],
                terminationMessagePolicy: 'FallbackToLogsOnError',
                env: [
                  { name: 'CRASH_VERSION', value: failing.crash ?? '' },
                  { name: 'NOT_READY_VERSION', value: failing.notReady ?? '' },
                ],
                readinessProbe: {
                  exec: { command: ['sh', '-c', 'test "$MODEL_VERSION" != "$NOT_READY_VERSION"'] },
                  periodSeconds: 1,
                },
              },
            ],
          },
        },
      },
    }),
  );
}

async function deployThenPromote(md: string, failing: 'crash' | 'notReady', deadline: number) {
  const { name: model, version: v1 } = await mlflow().createChampion(md);
  const { version: v2 } = await mlflow().createRunVersion(model);
  await createServing(`api-${md}`, { [failing]: v2 }, deadline);
  await applyMd(env.ns, md, {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: { name: `api-${md}`, container: 'api', maxRestarts: 2 },
  });
  await waitForMd(env.ns, md, 'v1 Succeeded', succeededAt(v1), 120_000);
  await mlflow().setAlias(model, 'champion', v2);
  await requestReconcile(env.ns, md);
  return { v1, v2 };
}

/** The rollback's end, read from the real Pods: the ready one runs the stable version's env. */
async function expectServedAgain(md: string, v1: string, v2: string, reason: string): Promise<MdObject> {
  const after = await waitForMd(
    env.ns,
    md,
    `RolledBack at ${v2}`,
    (m) => m.status?.phase === 'RolledBack' && m.status.currentRun?.version === v2,
    180_000,
  );
  expect(after.status?.currentRun).toMatchObject({ result: 'RolledBack', reason });
  expect(after.status?.serving).toMatchObject({ version: v1 });
  await kubectlOk(['-n', env.ns, 'rollout', 'status', `deployment/api-${md}`, '--timeout=90s']);
  const ready = (await pods(env.ns, `app=api-${md}`)).filter(
    (p) => !p.metadata.deletionTimestamp && p.status.containerStatuses?.[0]?.ready,
  );
  expect(ready).toHaveLength(1);
  expect(ready[0]?.spec.nodeName).toBe(realNode.name);
  const modelVersion = await kubectlOk([
    '-n',
    env.ns,
    'exec',
    ready[0]?.metadata.name ?? '',
    '--',
    'sh',
    '-c',
    'echo $MODEL_VERSION',
  ]);
  expect(modelVersion.trim()).toBe(v1);
  expect((await eventsFor(env.ns, md)).filter((e) => e.reason === 'RolledBack')).toHaveLength(1);
  return after;
}

test('Pods that crash-loop fail the rollout before its deadline, and are rolled back', async () => {
  const { v1, v2 } = await deployThenPromote('crash', 'crash', 600);
  const after = await expectServedAgain('crash', v1, v2, 'CrashLooping');
  const deployed = after.status?.conditions?.find((c) => c.type === 'Deployed');
  expect(deployed).toMatchObject({ status: 'False', reason: 'CrashLooping' });
  expect(deployed?.message).toMatch(
    /restarted [2-9] times; it last ended with exit code 3 \(Error\): cannot load model/,
  );
}, 300_000);

test('Pods that never become ready miss the progress deadline, and are rolled back', async () => {
  const { v1, v2 } = await deployThenPromote('deadline', 'notReady', 15);
  const after = await expectServedAgain('deadline', v1, v2, 'ProgressDeadlineExceeded');
  expect(after.status?.conditions?.find((c) => c.type === 'Deployed')).toMatchObject({
    status: 'False',
    reason: 'ProgressDeadlineExceeded',
  });
}, 300_000);
