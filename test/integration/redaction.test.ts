// A registry (or a proxy in front of it) that reflects the request headers in its error bodies
// must not get the credentials copied into status, Events or the operator's logs.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { applySecret } from '../helpers/kubectl.js';
import { applyMd, condition, eventsFor, getMd, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';

const env = operatorInNamespace('redact');
const basic = { username: 'echo-user', password: 'echo-pass-Zq81-do-not-leak' };
const token = 'echo-token-Xr55-do-not-leak';
const secrets = [
  basic.password,
  token,
  `${basic.username}:${basic.password}`,
  Buffer.from(`${basic.username}:${basic.password}`).toString('base64'),
];

let server: Server;
let uri: string;

beforeAll(async () => {
  // Answers the alias lookup with 400 (JSON, MLflow's shape) and the stage lookup with 500
  // (plain text), both echoing every request header, Authorization first.
  server = createServer((req, res) => {
    const dump = Object.entries(req.headers)
      .sort(([a], [b]) => (a === 'authorization' ? -1 : b === 'authorization' ? 1 : 0))
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('\n');
    if (req.url?.includes('/registered-models/alias')) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: `bad request; you sent ${dump}` }),
      );
    } else {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`upstream failed; you sent\n${dump}`);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  uri = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  for (const [name, data] of [
    ['echo-basic', basic],
    ['echo-token', { token }],
  ] as const) {
    await applySecret(env.ns, name, data);
  }
});
afterAll(() => server?.close());

/** Where a credential shows: in the object (status), its Events or the operator's log. */
async function leaks(name: string): Promise<string[]> {
  const places = {
    object: JSON.stringify(await getMd(env.ns, name)),
    events: JSON.stringify(await eventsFor(env.ns, name)),
    log: env.operator.lines.join('\n'),
  };
  return Object.entries(places).flatMap(([where, text]) =>
    secrets.filter((s) => text.includes(s)).map((s) => `${name}: ${where} has ${s}`),
  );
}

const cases = [
  { name: 'basic-400', secret: 'echo-basic', model: { alias: 'champion' }, reason: 'RegistryRequestRefused' },
  { name: 'token-400', secret: 'echo-token', model: { alias: 'champion' }, reason: 'RegistryRequestRefused' },
  { name: 'basic-500', secret: 'echo-basic', model: { stage: 'Production' }, reason: 'RegistryUnavailable' },
  { name: 'token-500', secret: 'echo-token', model: { stage: 'Production' }, reason: 'RegistryUnavailable' },
];

test('credentials echoed back by the server appear in no status, Event or log line', async () => {
  for (const c of cases) {
    await applyMd(env.ns, c.name, {
      model: { name: 'echoed', pollInterval: '10s', ...c.model },
      registry: { trackingUri: uri, credentialsSecretRef: { name: c.secret } },
    });
  }
  for (const c of cases) {
    const md = await waitForMd(
      env.ns,
      c.name,
      c.reason,
      (m) => condition(m, 'Ready')?.reason === c.reason,
      60_000,
    );
    // The echo did reach the message: what it said is there, the credential is not.
    expect(condition(md, 'Ready')?.message).toMatch(/you sent/);
  }
  await new Promise((r) => setTimeout(r, 4000)); // a few retries of the 500s, logged each time
  const found = (await Promise.all(cases.map((c) => leaks(c.name)))).flat();
  expect(found).toEqual([]);
}, 120_000);
