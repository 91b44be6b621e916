// /metrics, /healthz and /readyz of a running operator, scraped during and after a pipeline run.
import { request } from 'undici';
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { servedPorts } from '../helpers/operatorProcess.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('metrics');

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

test('health endpoints answer', async () => {
  const { health } = servedPorts(env.operator);
  expect(await get(health, '/healthz')).toEqual({ status: 200, text: 'ok' });
  expect(await get(health, '/readyz')).toEqual({ status: 200, text: 'ok' });
  expect((await get(health, '/nope')).status).toBe(404);
});

test('metrics expose reconciles, queue, phases, pipeline steps, MLflow latency and watch restarts', async () => {
  const { name } = await new MlflowAdmin(bed.mlflowUri).createChampion('metrics');
  await createServingDeployment(env.ns, 'api-metrics');
  await applyMd(env.ns, 'scraped', {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/metrics-${Date.now().toString(36)}` },
    build: {
      builder: 'kaniko',
      context: 'git://git.example/acme/serving.git',
      buildArgs: { TESTBED_BUILD_SECONDS: '3' },
    },
    deployment: { name: 'api-metrics', container: 'api' },
    test: { image: 'registry.example/tests:1' },
  });
  const { metrics } = servedPorts(env.operator);
  await waitForMd(env.ns, 'scraped', 'Building', (m) => m.status?.phase === 'Building', 30_000);
  const during = (await get(metrics, '/metrics')).text;
  expect(during).toContain(
    `mlflow_operator_modeldeployment_phase{namespace="${env.ns}",name="scraped",phase="Building"} 1`,
  );

  await waitForMd(env.ns, 'scraped', 'Succeeded', (m) => m.status?.phase === 'Succeeded', 90_000);
  const { status, text } = await get(metrics, '/metrics');
  expect(status).toBe(200);
  expect(text).toContain(
    `mlflow_operator_modeldeployment_phase{namespace="${env.ns}",name="scraped",phase="Succeeded"} 1`,
  );
  // One series per object: the Building one is gone.
  expect(text).not.toContain(`name="scraped",phase="Building"`);
  expect(
    text.match(new RegExp(`modeldeployment_phase\\{namespace="${env.ns}",name="scraped"`, 'g')),
  ).toHaveLength(1);
  expect(text).toMatch(
    /mlflow_operator_reconcile_total\{controller="modeldeployment",result="requeue"\} [1-9]/,
  );
  expect(text).toMatch(
    /mlflow_operator_reconcile_duration_seconds_count\{controller="modeldeployment"\} [1-9]/,
  );
  expect(text).toMatch(/mlflow_operator_workqueue_depth\{controller="modeldeployment"\} \d+/);
  expect(text).toMatch(/^mlflow_operator_leader 1$/m); // no election: it leads alone
  for (const step of ['build', 'rollout', 'test']) {
    expect(text).toMatch(
      new RegExp(
        `mlflow_operator_pipeline_step_duration_seconds_count\\{step="${step}",result="succeeded"\\} 1`,
      ),
    );
  }
  expect(text).toMatch(
    /mlflow_operator_mlflow_request_duration_seconds_count\{endpoint="\/registered-models\/alias",outcome="ok"\} [1-9]/,
  );
  // Present from the start; a list refused while a just-created CRD's storage initializes
  // (429) may already have counted a restart.
  expect(text).toMatch(/mlflow_operator_watch_restarts_total\{informer="modeldeployments\/[^"]+"\} \d+/);
  expect(text).toContain('mlflow_operator_process_resident_memory_bytes');
});
