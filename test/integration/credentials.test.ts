// Credentials from a Secret: basic auth against MLflow's own basic-auth server, a bearer token
// against a server that checks it, and bad Secrets that stall without leaking what they hold.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { once } from 'node:events';
import { applySecret as applyNamespacedSecret } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { MlflowServer, freePort } from '../helpers/mlflowServer.js';
import { applyMd, condition, eventsFor, getMd, isStalled, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';

const admin = { username: 'admin', password: 'an-admin-password-4-tests' };
const env = operatorInNamespace('creds');

const applySecret = (name: string, data: Record<string, string>) => applyNamespacedSecret(env.ns, name, data);

/** Everything a user can read about the object: no secret value may appear in it. */
async function visibleText(name: string): Promise<string> {
  return JSON.stringify([await getMd(env.ns, name), await eventsFor(env.ns, name), env.operator.lines]);
}

describe('basic auth against mlflow server --app-name basic-auth', () => {
  let server: MlflowServer;
  let uri: string;

  beforeAll(async () => {
    server = new MlflowServer(await freePort(), admin);
    await server.start();
    uri = server.uri;
    const mlflow = new MlflowAdmin(uri, admin);
    await mlflow.createModel('secured');
    const { version } = await mlflow.createRunVersion('secured');
    await mlflow.setAlias('secured', 'champion', version);
  });
  afterAll(() => server.dispose());

  test('the right username and password resolve the model', async () => {
    await applySecret('mlflow-basic', admin);
    await applyMd(env.ns, 'basic-ok', {
      model: { name: 'secured', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: uri, credentialsSecretRef: { name: 'mlflow-basic' } },
    });
    const md = await waitForMd(env.ns, 'basic-ok', 'Ready', (m) => condition(m, 'Ready')?.status === 'True');
    expect(md.status?.model?.version).toBe('1');
  });

  test('a wrong password stalls with RegistryUnauthorized and shows no secret; fixing the Secret heals it', async () => {
    const wrong = 'wrong-password-do-not-leak';
    await applySecret('mlflow-wrong', { username: 'admin', password: wrong });
    await applyMd(env.ns, 'basic-wrong', {
      model: { name: 'secured', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: uri, credentialsSecretRef: { name: 'mlflow-wrong' } },
    });
    const md = await waitForMd(env.ns, 'basic-wrong', 'Stalled', isStalled);
    expect(condition(md, 'Stalled')).toMatchObject({ reason: 'RegistryUnauthorized' });
    expect(condition(md, 'Stalled')?.message).toContain('MLflow answered 401');
    expect(condition(md, 'Stalled')?.message).toContain('check the credentials Secret');
    const seen = await visibleText('basic-wrong');
    expect(seen).not.toContain(wrong);
    expect(seen).not.toContain(Buffer.from(`admin:${wrong}`).toString('base64'));

    await applySecret('mlflow-wrong', admin);
    await waitForMd(env.ns, 'basic-wrong', 'Ready', (m) => condition(m, 'Ready')?.status === 'True', 30_000);
  });

  test('a Secret with a username but no password stalls with InvalidCredentialsSecret', async () => {
    await applySecret('mlflow-half', { username: 'admin' });
    await applyMd(env.ns, 'basic-half', {
      model: { name: 'secured', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: uri, credentialsSecretRef: { name: 'mlflow-half' } },
    });
    const md = await waitForMd(env.ns, 'basic-half', 'Stalled', isStalled);
    expect(condition(md, 'Stalled')).toMatchObject({ reason: 'InvalidCredentialsSecret' });
    expect(condition(md, 'Stalled')?.message).toContain('basic auth needs both');
  });
});

describe('bearer token', () => {
  const token = 'bearer-token-do-not-leak';
  let server: Server;
  let seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    // MLflow's open-source server has no token auth; this one checks the header like a proxy in
    // front of MLflow (or Databricks) would, and otherwise answers as MLflow does.
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error_code":"UNAUTHENTICATED","message":"bad token"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        '{"model_version":{"name":"tokened","version":"5","status":"READY","run_id":"r5","aliases":["champion"]}}',
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => server.close());

  test('a token Secret is sent as Authorization: Bearer', async () => {
    seen = [];
    await applySecret('mlflow-token', { token });
    const port = (server.address() as { port: number }).port;
    await applyMd(env.ns, 'bearer', {
      model: { name: 'tokened', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: `http://127.0.0.1:${port}`, credentialsSecretRef: { name: 'mlflow-token' } },
    });
    const md = await waitForMd(env.ns, 'bearer', 'Ready', (m) => condition(m, 'Ready')?.status === 'True');
    expect(md.status?.model).toMatchObject({ version: '5', runId: 'r5' });
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${token}`);
    expect(await visibleText('bearer')).not.toContain(token);
  });
});
