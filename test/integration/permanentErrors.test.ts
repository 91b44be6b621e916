// Errors no retry can fix stall at once, with a short message, instead of retrying forever.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, eventsFor, getMd, isStalled, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('permanent');
const unique = () => Date.now().toString(36);
let model = '';

beforeAll(async () => {
  model = (await new MlflowAdmin(bed.mlflowUri).createChampion('permanent')).name;
});

const resolving = (extra: Record<string, unknown> = {}) => ({
  model: { name: model, alias: 'champion', pollInterval: '10s' },
  registry: { trackingUri: bed.mlflowUri },
  ...extra,
});

async function stalledWithin(name: string, ms = 45_000) {
  const md = await waitForMd(env.ns, name, 'Stalled', isStalled, ms);
  return condition(md, 'Stalled');
}

test('a tracking URI that passes the CRD but is no URL stalls', async () => {
  await applyMd(env.ns, 'bad-uri', resolving({ registry: { trackingUri: 'http://127.0.0.1:99999' } }));
  const stalled = await stalledWithin('bad-uri');
  expect(stalled?.reason).toBe('RegistryRequestRefused');
  expect(stalled?.message).toContain('spec.registry.trackingUri');
});

test('a token with CR/LF in it stalls with InvalidCredentialsSecret and is not echoed', async () => {
  const token = 'crlf-token-Kp3\r\nX-Injected: yes';
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'crlf', namespace: env.ns },
      stringData: { token },
    }),
  );
  await applyMd(
    env.ns,
    'crlf-token',
    resolving({ registry: { trackingUri: bed.mlflowUri, credentialsSecretRef: { name: 'crlf' } } }),
  );
  const stalled = await stalledWithin('crlf-token');
  expect(stalled?.reason).toBe('InvalidCredentialsSecret');
  const seen = JSON.stringify([
    await getMd(env.ns, 'crlf-token'),
    await eventsFor(env.ns, 'crlf-token'),
    env.operator.lines,
  ]);
  expect(seen).not.toContain('crlf-token-Kp3');
});

test('a CodeBuild project that does not exist stalls with BuildProjectNotFound', async () => {
  await createServingDeployment(env.ns, 'api-cb');
  await applyMd(
    env.ns,
    'no-project',
    resolving({
      image: { repository: `${registryHost}/permanent-${unique()}` },
      build: { builder: 'codebuild', codebuild: { projectName: `no-such-project-${unique()}` } },
      deployment: { name: 'api-cb', container: 'api' },
    }),
  );
  const stalled = await stalledWithin('no-project', 60_000);
  expect(stalled?.reason).toBe('BuildProjectNotFound');
  expect(stalled?.message).toContain('spec.build.codebuild.projectName');
});

test('a 422 listing 300 refused resources still gets a status, with the message bounded', async () => {
  // Extended resources must have requests equal to limits: the apiserver names every one.
  const names = Array.from({ length: 300 }, (_, i) => `example.com/r${String(i).padStart(3, '0')}`);
  await createServingDeployment(env.ns, 'api-huge');
  await applyMd(
    env.ns,
    'huge',
    resolving({
      image: { repository: `${registryHost}/permanent-${unique()}` },
      build: {
        builder: 'kaniko',
        context: 'git://git.example/acme/serving.git#refs/heads/main',
        resources: {
          requests: Object.fromEntries(names.map((n) => [n, '2'])),
          limits: Object.fromEntries(names.map((n) => [n, '1'])),
        },
      },
      deployment: { name: 'api-huge', container: 'api' },
    }),
  );
  const stalled = await stalledWithin('huge', 60_000);
  expect(stalled?.reason).toBe('ObjectRejected');
  expect(stalled?.message).toContain('must be equal to example.com/r000 limit of 1');
  expect(stalled?.message.length).toBeLessThanOrEqual(1024);
  for (const e of await eventsFor(env.ns, 'huge')) expect(e.message.length).toBeLessThanOrEqual(1024);
}, 90_000);
