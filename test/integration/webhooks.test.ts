// MLflow webhooks for real: the bed's `mlflow server` delivers signed events to an operator's
// receiver, and an alias moved in MLflow reaches a ModelDeployment that polls only every 10
// minutes within seconds. MLflow checks https receivers against certifi's bundle alone, which no
// test CA is in, so its deliveries go over http here (MLFLOW_WEBHOOK_ALLOWED_SCHEMES, as the docs
// describe); a second operator serves https with a certificate from the bed CA (files as a
// kubernetes.io/tls Secret mounts them) and refuses forged, replayed, stale and oversized
// deliveries, waking nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { signDelivery } from '../../src/webhooks/signature.js';
import { bed, required } from '../helpers/bed.js';
import { applyCrd, createNamespace, deleteNamespace } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { freePort } from '../helpers/mlflowServer.js';
import { applyMd, getMd, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';

const SECRET = randomBytes(24).toString('hex');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const pki = () => path.join(required('BED_RUN'), 'pki');

/** An operator in a namespace of its own whose receiver serves source `bed` (TLS when `tls`). */
async function operatorWithReceiver(prefix: string, tls: boolean) {
  const ns = await createNamespace(prefix);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webhooks-'));
  // As the chart mounts them: one file per source, and a kubernetes.io/tls Secret.
  mkdirSync(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'secrets', 'bed'), `${SECRET}\n`);
  mkdirSync(path.join(dir, 'tls'));
  copyFileSync(path.join(pki(), 'webhook.crt'), path.join(dir, 'tls', 'tls.crt'));
  copyFileSync(path.join(pki(), 'webhook.key'), path.join(dir, 'tls', 'tls.key'));
  const port = await freePort();
  const operator = new OperatorProcess({
    WATCH_NAMESPACES: ns,
    WEBHOOK_SOURCES: `bed=${bed.mlflowUri}`,
    WEBHOOK_PORT: String(port),
    WEBHOOK_SECRETS_DIR: path.join(dir, 'secrets'),
    WEBHOOK_TLS_DIR: tls ? path.join(dir, 'tls') : '',
  });
  await operator.start();
  return { ns, dir, port, operator };
}

type Receiving = Awaited<ReturnType<typeof operatorWithReceiver>>;
let plain: Receiving;
let secure: Receiving;
let webhookId = '';
let trustBedCa: Agent;

beforeAll(async () => {
  await applyCrd();
  [plain, secure] = await Promise.all([
    operatorWithReceiver('webhooks', false),
    operatorWithReceiver('webhooks-tls', true),
  ]);
  trustBedCa = new Agent({ connect: { ca: readFileSync(path.join(pki(), 'ca.crt')) } });
  webhookId = await mlflow().createWebhook(
    `operator-${plain.ns}`,
    `http://127.0.0.1:${plain.port}/webhooks/bed`,
    ['model_version_alias.created', 'model_version.created'],
    SECRET,
  );
});

afterAll(async () => {
  if (webhookId) await mlflow().deleteWebhook(webhookId);
  for (const r of [plain, secure]) {
    if (!r) continue;
    await r.operator.stop();
    await deleteNamespace(r.ns);
    rmSync(r.dir, { recursive: true, force: true });
  }
  await trustBedCa?.close();
});

/** A delivery as MLflow sends it (Python json.dumps spacing), signed with `secret`. */
async function deliver(
  body: string,
  { secret = SECRET, id = randomUUID(), timestamp = Math.floor(Date.now() / 1000) } = {},
) {
  const res = await request(`https://127.0.0.1:${secure.port}/webhooks/bed`, {
    method: 'POST',
    dispatcher: trustBedCa,
    headers: {
      'content-type': 'application/json',
      'x-mlflow-delivery-id': id,
      'x-mlflow-timestamp': String(timestamp),
      'x-mlflow-signature': signDelivery(secret, id, String(timestamp), Buffer.from(body)),
    },
    body,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

const aliasEvent = (model: string, version: string) =>
  `{"entity": "model_version_alias", "action": "created", "timestamp": "${new Date().toISOString()}", ` +
  `"data": {"name": "${model}", "alias": "champion", "version": "${version}"}}`;

test('an alias moved in MLflow reaches a follower polling every 10 minutes within seconds', async () => {
  const { name: model, version: v1 } = await mlflow().createChampion('webhook');
  await applyMd(plain.ns, 'follower', {
    model: { name: model, alias: 'champion', pollInterval: '10m' },
    registry: { trackingUri: bed.mlflowUri },
  });
  await waitForMd(plain.ns, 'follower', `version ${v1}`, (m) => m.status?.model?.version === v1);

  const { version: v2 } = await mlflow().createRunVersion(model);
  const moved = Date.now();
  await mlflow().setAlias(model, 'champion', v2);
  await waitForMd(
    plain.ns,
    'follower',
    `version ${v2} after the webhook`,
    (m) => m.status?.model?.version === v2,
    30_000,
  );
  const seconds = (Date.now() - moved) / 1000;
  process.stderr.write(`[webhooks] alias moved → status.model.version updated: ${seconds.toFixed(2)} s\n`);
  expect(seconds).toBeLessThan(30); // polling alone would take up to 10 minutes
  expect(plain.operator.lines.some((l) => l.includes('MLflow webhook event') && l.includes(model))).toBe(
    true,
  );
});

test('forged, replayed, stale and oversized deliveries are refused and wake nothing', async () => {
  const { name: model, version: v1 } = await mlflow().createChampion('forged');
  await applyMd(secure.ns, 'guarded', {
    model: { name: model, alias: 'champion', pollInterval: '10m' },
    registry: { trackingUri: bed.mlflowUri },
  });
  await waitForMd(secure.ns, 'guarded', `version ${v1}`, (m) => m.status?.model?.version === v1);
  const before = secure.operator.lines.length;

  expect((await deliver(aliasEvent(model, '99'), { secret: 'not-the-secret' })).status).toBe(401);
  const stale = await deliver(aliasEvent(model, '99'), { timestamp: Math.floor(Date.now() / 1000) - 3600 });
  expect(stale).toEqual({ status: 401, body: expect.stringContaining('stale') });
  const big = await deliver(`{"pad": "${'x'.repeat(2 * 1024 * 1024)}"}`);
  expect(big.status).toBe(413);

  const id = randomUUID();
  const timestamp = Math.floor(Date.now() / 1000);
  expect((await deliver(aliasEvent(model, '1'), { id, timestamp })).status).toBe(200);
  const replay = await deliver(aliasEvent(model, '1'), { id, timestamp });
  expect(replay).toEqual({ status: 200, body: expect.stringContaining('duplicate') });

  const wakes = secure.operator.lines.slice(before).filter((l) => l.includes('MLflow webhook event'));
  expect(wakes).toHaveLength(1); // the one genuine delivery, once
  expect((await getMd(secure.ns, 'guarded')).status?.model?.version).toBe(v1);
});
