// The Helm chart renders the same objects as the kustomize manifests (both variants), its
// values schema refuses bad values, and `helm install` works on the bed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { bed } from '../helpers/bed.js';
import { deleteNamespace, kubectlOk } from '../helpers/kubectl.js';

const CHART = 'charts/mlflow-model-operator';
const NS = 'mlflow-model-operator';

function helm(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(join(bed.bin, 'helm'), args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type Obj = { kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;

/** Objects by kind/namespace/name; the Namespace itself is left out (Helm installs into one). */
function objects(yamlText: string): Map<string, Obj> {
  const docs = parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as Obj | null)
    .filter((o): o is Obj => o !== null && o.kind !== 'Namespace');
  return new Map(docs.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
}

async function kustomize(dir: string): Promise<Map<string, Obj>> {
  return objects(await kubectlOk(['kustomize', dir]));
}

function template(...set: string[]): Map<string, Obj> {
  const r = helm([
    'template',
    NS,
    CHART,
    '-n',
    NS,
    '--include-crds',
    '--kube-version',
    '1.34.4',
    ...set.flatMap((s) => ['--set', s]),
  ]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return objects(r.stdout);
}

test('helm lint passes', () => {
  const r = helm(['lint', CHART, '--kube-version', '1.34.4']);
  expect({ code: r.code, out: r.stdout.includes('0 chart(s) failed') }).toEqual({ code: 0, out: true });
});

test('cluster-wide: helm template equals kubectl kustomize manifests', async () => {
  const [fromHelm, fromKustomize] = [template(), await kustomize('manifests')];
  expect([...fromHelm.keys()].sort()).toEqual([...fromKustomize.keys()].sort());
  for (const [key, obj] of fromKustomize) expect({ key, obj: fromHelm.get(key) }).toEqual({ key, obj });
});

test('namespaced: watchNamespaces renders the namespaced overlay', async () => {
  const [fromHelm, fromKustomize] = [
    template('watchNamespaces={ml-serving}'),
    await kustomize('manifests/namespaced'),
  ];
  expect([...fromHelm.keys()].sort()).toEqual([...fromKustomize.keys()].sort());
  for (const [key, obj] of fromKustomize) expect({ key, obj: fromHelm.get(key) }).toEqual({ key, obj });
  expect([...fromHelm.keys()].some((k) => k.startsWith('ClusterRole/'))).toBe(false);
});

test('webhooks enabled: helm template equals kustomize with the manifests/webhook component', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kustomize-webhook-'));
  const root = process.cwd();
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    `resources: [${relative(dir, join(root, 'manifests'))}]\ncomponents: [${relative(dir, join(root, 'manifests/webhook'))}]\n`,
  );
  try {
    const fromKustomize = objects(
      await kubectlOk(['kustomize', dir, '--load-restrictor', 'LoadRestrictionsNone']),
    );
    const fromHelm = template(
      'webhooks.enabled=true',
      'webhooks.sources.prod=https://mlflow.example.com',
      'webhooks.secretName=mlflow-model-operator-webhook-secrets',
      'webhooks.tlsSecretName=mlflow-model-operator-webhook-tls',
    );
    expect([...fromHelm.keys()].sort()).toEqual([...fromKustomize.keys()].sort());
    for (const [key, obj] of fromKustomize) expect({ key, obj: fromHelm.get(key) }).toEqual({ key, obj });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  ['webhooks.enabled=true', 'webhooks.sources needs at least one'],
  ['webhooks.sources.Bad_Name=https://mlflow', "invalid propertyName 'Bad_Name'"],
  ['replicaCount=0', "'/replicaCount': minimum"],
  ['logLevel=loud', '/logLevel'],
  ['watchNamespaces={Bad_NS}', '/watchNamespaces/0'],
  ['unknownSetting=1', 'unknownSetting'],
  ['image.digest=latest', '/image/digest'],
])('values schema refuses %s', (set, says) => {
  const r = helm(['template', NS, CHART, '--kube-version', '1.34.4', '--set', set]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(says);
});

test('values for an install of a pushed image: by digest, env from a Secret, own security contexts', () => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
  const deployment = template(
    'image.repository=registry.example:5000/mlflow-model-operator',
    'image.tag=ignored-when-a-digest-is-set',
    `image.digest=${digest}`,
    'image.pullPolicy=Always',
    'envFrom[0].secretRef.name=aws-credentials',
    'podSecurityContext.runAsUser=null',
    'podSecurityContext.runAsGroup=null',
    'securityContext.readOnlyRootFilesystem=false',
  ).get(`Deployment/${NS}/${NS}`) as unknown as {
    spec: { template: { spec: { securityContext: object; containers: Record<string, unknown>[] } } };
  };
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0] ?? {};
  expect({
    image: container.image,
    imagePullPolicy: container.imagePullPolicy,
    envFrom: container.envFrom,
    podSecurityContext: pod.securityContext,
    readOnlyRootFilesystem: (container.securityContext as { readOnlyRootFilesystem?: boolean })
      .readOnlyRootFilesystem,
  }).toEqual({
    image: `registry.example:5000/mlflow-model-operator@${digest}`,
    imagePullPolicy: 'Always',
    envFrom: [{ secretRef: { name: 'aws-credentials' } }],
    podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    readOnlyRootFilesystem: false,
  });
});

test('helm install works on the bed', async () => {
  const release = 'mdo-helm';
  const namespace = `helm-${Date.now().toString(36)}`;
  const r = helm([
    'install',
    release,
    CHART,
    '-n',
    namespace,
    '--create-namespace',
    '--wait',
    '--timeout',
    '90s',
    '--kubeconfig',
    bed.kubeconfig,
  ]);
  try {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const deployment = JSON.parse(
      await kubectlOk([
        '-n',
        namespace,
        'get',
        'deployment',
        `${release}-mlflow-model-operator`,
        '-o',
        'json',
      ]),
    ) as {
      status: { readyReplicas?: number };
    };
    expect(deployment.status.readyReplicas).toBe(2);
  } finally {
    helm(['uninstall', release, '-n', namespace, '--kubeconfig', bed.kubeconfig]);
    await deleteNamespace(namespace);
  }
});
