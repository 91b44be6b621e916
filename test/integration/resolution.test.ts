// The operator, as its own process, against the bed's kube-apiserver and MLflow server: the
// status follows the registry for a stage and for an alias, kubectl shows it, and a registry
// that does not know the model gets a Stalled condition that clears once the model exists.
import { bed } from '../helpers/bed.js';
import { kubectl, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, eventsFor, getMd, isStalled, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';

const POLL = '10s';
const env = operatorInNamespace('resolve');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const registry = () => ({ trackingUri: bed.mlflowUri });

test('follows a stage: status.model matches MLflow, Ready, Event, printer columns', async () => {
  const model = bed.modelName;
  const expected = await mlflow().latestInStage(model, 'Production');
  expect(expected).toBeDefined();
  await applyMd(env.ns, 'by-stage', {
    model: { name: model, stage: 'Production', pollInterval: POLL },
    registry: registry(),
  });

  const md = await waitForMd(
    env.ns,
    'by-stage',
    `version ${expected}`,
    (m) => m.status?.model?.version === expected,
  );
  const truth = await mlflow().getVersion(model, expected as string);
  expect(md.status?.model).toMatchObject({
    name: model,
    version: expected,
    runId: truth.run_id,
    source: truth.source,
    uri: `models:/${model}/${expected}`,
    resolvedFrom: 'stage:Production',
  });
  expect(md.status).toMatchObject({ phase: 'Succeeded', observedGeneration: md.metadata.generation });
  expect(condition(md, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(md, 'ModelResolved')).toMatchObject({ status: 'True', reason: 'Resolved' });
  expect(condition(md, 'Reconciling')).toBeUndefined();
  expect(condition(md, 'Stalled')).toBeUndefined();

  const waited = await kubectl([
    '-n',
    env.ns,
    'wait',
    '--for=condition=Ready',
    '--timeout=30s',
    'modeldeployment/by-stage',
  ]);
  expect(waited.code).toBe(0);

  const events = await eventsFor(env.ns, 'by-stage');
  expect(events).toEqual(
    expect.arrayContaining([expect.objectContaining({ type: 'Normal', reason: 'NewModelVersion' })]),
  );

  const table = await kubectlOk(['-n', env.ns, 'get', 'modeldeployments']);
  const [header, row] = table.trim().split('\n');
  expect(header?.split(/\s{2,}/)).toEqual([
    'NAME',
    'MODEL',
    'STAGE',
    'ALIAS',
    'VERSION',
    'SERVING',
    'PHASE',
    'STEP',
    'AGE',
  ]);
  expect(row).toMatch(new RegExp(`^by-stage\\s+${model}\\s+Production\\s+${expected}\\s+Succeeded\\s+\\S+$`));
  const wide = await kubectlOk(['-n', env.ns, 'get', 'md', 'by-stage', '-o', 'wide']);
  expect(wide.split('\n')[0]).toMatch(/READY\s+RUN ID\s+MESSAGE/);
  expect(wide).toContain(truth.run_id ?? '');
});

test('follows an alias, and a promotion in MLflow within the poll interval', async () => {
  const model = bed.modelName;
  const before = await mlflow().versionByAlias(model, 'champion');
  await applyMd(env.ns, 'by-alias', {
    model: { name: model, alias: 'champion', pollInterval: POLL },
    registry: registry(),
  });
  await waitForMd(
    env.ns,
    'by-alias',
    `version ${before}`,
    (m) => m.status?.model?.version === before && m.status.phase === 'Succeeded',
  );

  const promoted = await mlflow().copyVersion(model, before);
  const promotedAt = Date.now();
  await mlflow().setAlias(model, 'champion', promoted);
  const md = await waitForMd(
    env.ns,
    'by-alias',
    `version ${promoted}`,
    (m) => m.status?.model?.version === promoted,
    30_000,
  );
  // 10s interval + up to 10% jitter + one reconcile: the status follows within ~12s.
  expect(Date.now() - promotedAt).toBeLessThan(15_000);
  expect(md.status?.phase).toBe('Succeeded');
  const events = await eventsFor(env.ns, 'by-alias');
  expect(events.map((e) => e.message)).toEqual(
    expect.arrayContaining([
      `Resolved version ${promoted} of "${model}" from alias:champion (was ${before})`,
    ]),
  );
});

test('a stage promotion is followed too', async () => {
  const model = bed.modelName;
  const current = (await getMd(env.ns, 'by-stage')).status?.model?.version as string;
  const next = await mlflow().copyVersion(model, current);
  await mlflow().transition(model, next, 'Production');
  await waitForMd(env.ns, 'by-stage', `version ${next}`, (m) => m.status?.model?.version === next, 30_000);
});

test('an unknown model, alias or empty stage stalls with a message that says what to fix, then recovers', async () => {
  const missing = `missing-${Date.now().toString(36)}`;
  const stalled = (name: string) => waitForMd(env.ns, name, 'Stalled', isStalled);

  // Model unknown to MLflow (followed by alias, and by stage).
  await applyMd(env.ns, 'no-model', {
    model: { name: missing, alias: 'champion', pollInterval: POLL },
    registry: registry(),
  });
  await applyMd(env.ns, 'no-stage-model', {
    model: { name: missing, stage: 'Production', pollInterval: POLL },
    registry: registry(),
  });
  for (const name of ['no-model', 'no-stage-model']) {
    const md = await stalled(name);
    expect(condition(md, 'Stalled')).toMatchObject({ reason: 'ModelNotFound' });
    expect(condition(md, 'Ready')).toMatchObject({ status: 'False', reason: 'ModelNotFound' });
    expect(condition(md, 'Ready')?.message).toBe(
      `MLflow has no registered model named "${missing}"; register it in MLflow or fix spec.model.name`,
    );
    expect(md.status?.phase).toBe('Failed');
    expect(await eventsFor(env.ns, name)).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'ModelNotFound' })]),
    );
  }

  // Known model, unknown alias.
  await applyMd(env.ns, 'no-alias', {
    model: { name: bed.modelName, alias: 'nobody-set-this', pollInterval: POLL },
    registry: registry(),
  });
  const noAlias = await stalled('no-alias');
  expect(condition(noAlias, 'Stalled')).toMatchObject({ reason: 'AliasNotFound' });
  expect(condition(noAlias, 'Stalled')?.message).toContain('set the alias in MLflow or fix spec.model.alias');

  // The user registers the model and sets the alias in MLflow: the next poll clears the stall.
  await mlflow().createModel(missing);
  const { version: v } = await mlflow().createRunVersion(missing);
  // A registered model with nothing in Production is a stall of its own.
  const empty = await waitForMd(
    env.ns,
    'no-stage-model',
    'NoVersionInStage',
    (m) => condition(m, 'Stalled')?.reason === 'NoVersionInStage',
    30_000,
  );
  expect(condition(empty, 'Stalled')?.message).toContain('transition a version to Production');
  await mlflow().setAlias(missing, 'champion', v);
  const healed = await waitForMd(
    env.ns,
    'no-model',
    'Ready',
    (m) => condition(m, 'Ready')?.status === 'True',
    30_000,
  );
  expect(condition(healed, 'Stalled')).toBeUndefined();
  expect(healed.status?.model?.version).toBe(v);
  expect(healed.status?.phase).toBe('Succeeded');
  expect(env.operator.running).toBe(true);
});

test('a missing credentials Secret stalls and names the Secret', async () => {
  await applyMd(env.ns, 'no-secret', {
    model: { name: bed.modelName, alias: 'champion', pollInterval: POLL },
    registry: { ...registry(), credentialsSecretRef: { name: 'mlflow-auth' } },
  });
  const md = await waitForMd(env.ns, 'no-secret', 'Stalled', isStalled);
  expect(condition(md, 'Stalled')).toMatchObject({ reason: 'CredentialsSecretNotFound' });
  expect(condition(md, 'Stalled')?.message).toContain('Secret "mlflow-auth"');
});
