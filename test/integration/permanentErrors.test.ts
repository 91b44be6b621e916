// Errors no retry can fix stall at once, with a short message, instead of retrying forever.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
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

// The CRD keeps spec.build.resources small, so the huge message comes from a registry whose
// error body is 40 KB (over the apiserver's 32 KiB limit for a condition message).
test('a registry error of 40 KB still gets a status, with the message bounded', async () => {
  const server = createServer((_, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: `bogus ${'x'.repeat(40_000)}` }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    await applyMd(env.ns, 'huge', resolving({ registry: { trackingUri: `http://127.0.0.1:${port}` } }));
    const stalled = await stalledWithin('huge');
    expect(stalled?.reason).toBe('RegistryRequestRefused');
    expect(stalled?.message).toMatch(/MLflow answered 400 INVALID_PARAMETER_VALUE: bogus x+…$/);
    expect(stalled?.message.length).toBeLessThanOrEqual(1024);
    for (const e of await eventsFor(env.ns, 'huge')) expect(e.message.length).toBeLessThanOrEqual(1024);
  } finally {
    server.close();
  }
}, 90_000);
