// The operator itself in the cluster: its image built from the project's Dockerfile on the bed
// (test/bed/node/operator-image.sh: buildah, no Docker, no online registry), installed with the
// Helm chart onto the real node with its ServiceAccount and RBAC, two replicas electing a
// leader, reaching the apiserver through in-cluster config (the `kubernetes` Service). It runs
// the demo's whole flow; then its leader is killed and the other replica runs a promotion.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bed } from '../helpers/bed.js';
import { applyDemo, expectDemoSucceeds, pods, registerDemoVersion } from '../helpers/demo.js';
import { applyCrd, applySecret, deleteNamespace, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { createRealNodeNamespace, realNode } from '../helpers/realNode.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const RELEASE = 'mdo';
const RUN_MS = 6 * 60_000;
const model = `hp-in-${Date.now().toString(36)}`;
let operatorNs = '';
let appNs = '';
let image = { repository: '', tag: '' };
const versions = { v1: '', v2: '' };
const valuesDir = mkdtempSync(join(tmpdir(), 'mdo-values-'));

function helm(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(bed.bin, 'helm'), [...args, '--kubeconfig', bed.kubeconfig], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The operator's image, built (or found in the cache) and pushed to the bed's registry. */
async function pushOperatorImage(): Promise<{ repository: string; tag: string }> {
  const { stdout } = await run('bash', ['test/bed/node/operator-image.sh', 'push', realNode.registry], {
    timeout: 900_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const ref = /^BED_OPERATOR_IMAGE=(\S+):([^:/\s]+)$/m.exec(stdout);
  if (!ref?.[1] || !ref[2]) throw new Error(`operator-image.sh printed no image: ${stdout}`);
  return { repository: ref[1], tag: ref[2] };
}

interface Lease {
  spec: { holderIdentity?: string };
}

/** The Pod that holds the leader Lease (the identity is "<pod>_<uuid>"). */
async function leaderPod(): Promise<string | undefined> {
  const out = await kubectlOk(['-n', operatorNs, 'get', 'leases', '-o', 'json']);
  const leases = (JSON.parse(out) as { items: Lease[] }).items;
  return leases.map((l) => l.spec.holderIdentity?.split('_')[0]).find(Boolean);
}

const operatorPods = () => pods(operatorNs, 'app.kubernetes.io/name=mlflow-model-operator');

beforeAll(async () => {
  await applyCrd();
  image = await pushOperatorImage();
  operatorNs = await createRealNodeNamespace('operator');
  appNs = await createRealNodeNamespace('in-cluster');
  versions.v1 = (await registerDemoVersion(model, 'good', 'champion')).version;
  versions.v2 = (await registerDemoVersion(model, 'good')).version;
  // What a user on EKS gets from IRSA; moto takes any key.
  await applySecret(operatorNs, 'aws-credentials', {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });
  const values = {
    image: { ...image, pullPolicy: 'IfNotPresent' },
    replicaCount: 2,
    leaderElection: { enabled: true },
    watchNamespaces: [appNs],
    logLevel: 'debug',
    envFrom: [{ secretRef: { name: 'aws-credentials' } }],
    extraEnv: [
      { name: 'AWS_ENDPOINT_URL', value: realNode.motoUrl },
      { name: 'AWS_REGION', value: 'us-east-1' },
      { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
    ],
  };
  const file = join(valuesDir, 'values.json');
  writeFileSync(file, JSON.stringify(values));
  const r = helm([
    'install',
    RELEASE,
    'charts/mlflow-model-operator',
    '-n',
    operatorNs,
    '-f',
    file,
    '--wait',
    '--timeout',
    '180s',
  ]);
  if (r.code !== 0) throw new Error(`helm install failed: ${r.stderr}`);
}, 900_000);

afterAll(async () => {
  if (operatorNs) helm(['uninstall', RELEASE, '-n', operatorNs, '--wait', '--timeout', '60s']);
  rmSync(valuesDir, { recursive: true, force: true });
  for (const ns of [appNs, operatorNs]) if (ns) await deleteNamespace(ns);
});

test(
  'the operator from its own image, installed by the chart on the real node, runs the whole flow; its standby takes over when the leader dies',
  async () => {
    // Both replicas run the image from the bed's registry on the real node, in-cluster config.
    const replicas = await operatorPods();
    expect(replicas).toHaveLength(2);
    for (const pod of replicas) {
      expect(pod.spec.nodeName).toBe(realNode.name);
      expect(pod.status.containerStatuses?.[0]).toMatchObject({
        ready: true,
        imageID: expect.stringMatching(new RegExp(`^${image.repository}@sha256:[0-9a-f]{64}$`)),
      });
    }
    const leader = await waitFor('a leader', leaderPod);
    expect(replicas.map((p) => p.metadata.name)).toContain(leader);

    await applyDemo(appNs, model);
    await expectDemoSucceeds(appNs, model, versions.v1);

    // The leader dies without a goodbye (its Lease is not released): the standby waits out the
    // lease and takes over, then runs the promotion.
    await kubectlOk(['-n', operatorNs, 'delete', 'pod', leader, '--grace-period=0', '--force']);
    await new MlflowAdmin(bed.mlflowUri).setAlias(model, 'champion', versions.v2);
    await expectDemoSucceeds(appNs, model, versions.v2);
    const newLeader = await leaderPod();
    expect(newLeader).toBeDefined();
    expect(newLeader).not.toBe(leader);
  },
  3 * RUN_MS,
);
