// Installing with `kubectl apply -k`, and the operator running under its own ServiceAccount so
// the apiserver enforces the shipped RBAC: the pipeline completes with no RBAC error, and a verb
// taken away is caught with a Stalled condition that names it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bed, kubeConfig } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { applyCrd, createNamespace, deleteNamespace, kubectl, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, isStalled, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';
import { createServingDeployment } from '../helpers/serving.js';

const OPERATOR_NS = 'mlflow-model-operator';
let ns: string;
let operator: OperatorProcess | undefined;

/** A kubeconfig that authenticates as the operator's ServiceAccount (a bound token). */
async function serviceAccountKubeconfig(): Promise<string> {
  const token = (
    await kubectlOk(['-n', OPERATOR_NS, 'create', 'token', 'mlflow-model-operator', '--duration=1h'])
  ).trim();
  const { server, caFile: ca } = kubeConfig().getCurrentCluster()!;
  const file = join(mkdtempSync(join(tmpdir(), 'sa-kubeconfig-')), 'kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'bed', cluster: { server, 'certificate-authority': ca } }],
      users: [{ name: 'operator', user: { token } }],
      contexts: [{ name: 'operator', context: { cluster: 'bed', user: 'operator' } }],
      'current-context': 'operator',
    }),
  );
  return file;
}

async function pipelineSpec(prefix: string) {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion(prefix);
  return {
    version,
    spec: {
      model: { name, alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: bed.mlflowUri },
      image: { repository: `${registryHost}/${prefix}-${Date.now().toString(36)}` },
      build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
      deployment: { name: `api-${prefix}`, container: 'api' },
      test: { image: 'registry.example/tests:1' },
    },
  };
}

beforeAll(async () => {
  await applyCrd();
  ns = await createNamespace('rbac');
});
afterAll(async () => {
  await operator?.stop();
  await kubectl(['apply', '-k', 'manifests']); // restore the full ClusterRole
  await deleteNamespace(ns);
});

test('kubectl apply -k manifests installs cleanly, and the namespaced variant passes a server dry-run', async () => {
  const real = await kubectlOk(['apply', '-k', 'manifests']);
  expect(real).toContain('clusterrole.rbac.authorization.k8s.io/mlflow-model-operator');
  expect(real).toContain('deployment.apps/mlflow-model-operator');
  // The manager Deployment's Pods are scheduled and (kwok) become Ready: the spec is valid.
  await kubectlOk([
    '-n',
    OPERATOR_NS,
    'rollout',
    'status',
    'deployment/mlflow-model-operator',
    '--timeout=60s',
  ]);
  // A server dry-run needs the namespaces to exist already (it creates nothing).
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml-serving' } }),
  );
  for (const dir of ['manifests', 'manifests/namespaced']) {
    const dry = await kubectl(['apply', '-k', dir, '--dry-run=server']);
    expect({ dir, code: dry.code, errors: dry.stderr.split('\n').filter((l) => /error/i.test(l)) }).toEqual({
      dir,
      code: 0,
      errors: [],
    });
    expect(dry.stdout).toContain('(server dry run)');
  }
});

test('under its ServiceAccount the operator completes the pipeline with no RBAC error', async () => {
  const kubeconfig = await serviceAccountKubeconfig();
  operator = new OperatorProcess({
    KUBECONFIG: kubeconfig,
    LEADER_ELECT: 'true',
    LEADER_ELECTION_NAMESPACE: OPERATOR_NS,
  });
  await operator.start();
  const { version, spec } = await pipelineSpec('rbac');
  await createServingDeployment(ns, 'api-rbac');
  await applyMd(ns, 'rbac', spec);
  const md = await waitForMd(ns, 'rbac', 'Succeeded', succeededAt(version), 90_000);
  expect(condition(md, 'Ready')?.status).toBe('True');
  // (Another test's namespace being deleted refuses writes with 403 NamespaceTerminating: not RBAC.)
  expect(operator.lines.filter((l) => /forbidden/i.test(l) && !/being terminated/i.test(l))).toEqual([]);
});

test('a verb missing from the ClusterRole is caught: Stalled Forbidden, naming it', async () => {
  const role = JSON.parse(await kubectlOk(['get', 'clusterrole', 'mlflow-model-operator', '-o', 'json'])) as {
    rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  };
  const withoutPatch = role.rules.map((r) =>
    r.resources.includes('deployments') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r,
  );
  await kubectlOk([
    'patch',
    'clusterrole',
    'mlflow-model-operator',
    '--type=merge',
    '-p',
    JSON.stringify({ rules: withoutPatch }),
  ]);

  const { spec } = await pipelineSpec('norbac');
  await createServingDeployment(ns, 'api-norbac');
  await applyMd(ns, 'norbac', spec);
  const md = await waitForMd(ns, 'norbac', 'Stalled', isStalled, 90_000);
  expect(condition(md, 'Stalled')).toMatchObject({ reason: 'Forbidden' });
  expect(condition(md, 'Stalled')?.message).toMatch(/cannot patch resource "deployments"/);
  expect(condition(md, 'Stalled')?.message).toContain("grant the operator's ServiceAccount this permission");
});
