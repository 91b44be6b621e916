// MLflow going away and coming back, and a server that answers garbage: the operator reports a
// condition with a clear reason, keeps retrying with backoff, never crashes, and recovers.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { MlflowServer, freePort } from '../helpers/mlflowServer.js';
import { applyMd, condition, eventsFor, requestReconcile, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';

const env = operatorInNamespace('failures');

test('MLflow stopped and restarted: RegistryReachable=False while Ready stays, retried, then Ready at the new version', async () => {
  const server = new MlflowServer(await freePort());
  try {
    await server.start();
    const admin = new MlflowAdmin(server.uri);
    await admin.createModel('outage-model');
    const { version: v1 } = await admin.createRunVersion('outage-model');
    await admin.setAlias('outage-model', 'champion', v1);
    await applyMd(env.ns, 'outage', {
      model: { name: 'outage-model', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: server.uri, timeoutSeconds: 2 },
    });
    await waitForMd(
      env.ns,
      'outage',
      `version ${v1}`,
      (m) => m.status?.model?.version === v1 && m.status?.phase === 'Succeeded',
    );

    await server.stop();
    await requestReconcile(env.ns, 'outage');
    const down = await waitForMd(
      env.ns,
      'outage',
      'RegistryReachable=False',
      (m) => condition(m, 'RegistryReachable')?.status === 'False',
      30_000,
    );
    // An outage is no verdict: the resolved version goes on and Ready is left as it was.
    expect(condition(down, 'RegistryReachable')).toMatchObject({ reason: 'RegistryUnavailable' });
    expect(condition(down, 'RegistryReachable')?.message).toContain(`cannot reach MLflow at ${server.uri}`);
    expect(condition(down, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(condition(down, 'Reconciling')).toBeUndefined();
    expect(condition(down, 'Stalled')).toBeUndefined();
    expect(down.status?.model?.version).toBe(v1);
    expect(down.status?.phase).toBe('Succeeded');
    expect(await eventsFor(env.ns, 'outage')).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'RegistryUnavailable' })]),
    );

    await server.start(); // same port, same SQLite file
    const { version: v2, runId: run2 } = await admin.createRunVersion('outage-model');
    await admin.setAlias('outage-model', 'champion', v2);
    const back = await waitForMd(
      env.ns,
      'outage',
      `version ${v2}`,
      (m) => m.status?.model?.version === v2 && condition(m, 'Ready')?.status === 'True',
      60_000,
    );
    expect(condition(back, 'Reconciling')).toBeUndefined();
    expect(back.status?.model?.runId).toBe(run2);
    expect(env.operator.running).toBe(true);
  } finally {
    await server.dispose();
  }
});

describe('a registry that answers garbage', () => {
  let garbage: Server;
  let uri: string;
  let answer: { status: number; type: string; body: string };

  beforeAll(async () => {
    garbage = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.body);
    });
    garbage.listen(0, '127.0.0.1');
    await once(garbage, 'listening');
    uri = `http://127.0.0.1:${(garbage.address() as { port: number }).port}`;
  });
  afterAll(() => garbage.close());

  test.each([
    [
      'HTML instead of JSON',
      { status: 200, type: 'text/html', body: '<html>proxy login</html>' },
      'RegistryInvalidResponse',
      'not JSON',
    ],
    [
      'a version that is a number',
      { status: 200, type: 'application/json', body: '{"model_version":{"name":"m","version":3}}' },
      'RegistryInvalidResponse',
      'model_version.version',
    ],
    [
      'a 503 plain-text page',
      { status: 503, type: 'text/plain', body: 'upstream unavailable' },
      'RegistryUnavailable',
      'MLflow answered 503',
    ],
    [
      'a page that is not MLflow',
      { status: 404, type: 'text/html', body: 'Not Found' },
      'RegistryRequestRefused',
      'an MLflow tracking server',
    ],
  ])('%s', async (label, reply, reason, says) => {
    answer = reply;
    const name = `garbage-${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    await applyMd(env.ns, name, {
      model: { name: 'm', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: uri },
    });
    const md = await waitForMd(env.ns, name, reason, (m) => condition(m, 'Ready')?.reason === reason, 30_000);
    expect(condition(md, 'Ready')?.message).toContain(says);
    expect(env.operator.running).toBe(true);
  });
});
