// MLflow-shaped webhook deliveries: bodies as MLflow's Python json.dumps writes them (", " and
// ": " separators), signed the way mlflow/webhooks/delivery.py signs them.
import { randomUUID } from 'node:crypto';
import { signDelivery } from '../../../src/webhooks/signature.js';

export const SECRET = 'whsec-test-1';
export const NOW_S = 1_796_040_000; // 2026-11-30T12:00:00Z
export const NOW_MS = NOW_S * 1000;

/** Computed with Python's hmac/base64 over the same input, as MLflow does. */
export const PYTHON_VECTOR = {
  secret: SECRET,
  deliveryId: '5b0c2f3e-8d1a-4c55-9a0e-2f6d7b1c9e42',
  timestamp: '1796040000',
  body:
    '{"entity": "model_version_alias", "action": "created", "timestamp": "2026-11-30T12:00:00.123456+00:00", ' +
    '"data": {"name": "iris-classifier", "alias": "champion", "version": "3"}}',
  signature: 'v1,R+fyYhD3/LNDo0OkgF71sl78znGoljg/thJ7ot339So=',
};

export const BODIES = {
  modelVersionCreated:
    '{"entity": "model_version", "action": "created", "timestamp": "2026-11-30T12:00:00.123456+00:00", ' +
    '"data": {"name": "iris-classifier", "version": "4", "source": "models:/m-0a1b2c3d", ' +
    '"run_id": "f3a9c1e2b4d64e0f9a7b8c6d5e4f3a2b", "tags": {"team": "ml"}, "description": null}}',
  aliasCreated: PYTHON_VECTOR.body,
  aliasDeleted:
    '{"entity": "model_version_alias", "action": "deleted", "timestamp": "2026-11-30T12:00:01.5+00:00", ' +
    '"data": {"name": "iris-classifier", "alias": "challenger"}}',
  tagSet:
    '{"entity": "model_version_tag", "action": "set", "timestamp": "2026-11-30T12:00:02.000001+00:00", ' +
    '"data": {"name": "iris-classifier", "version": "3", "key": "validation_status", "value": "approved"}}',
  tagDeleted:
    '{"entity": "model_version_tag", "action": "deleted", "timestamp": "2026-11-30T12:00:03.000001+00:00", ' +
    '"data": {"name": "iris-classifier", "version": "3", "key": "validation_status"}}',
  registeredModelCreated:
    '{"entity": "registered_model", "action": "created", "timestamp": "2026-11-30T12:00:04.000001+00:00", ' +
    '"data": {"name": "fraud-detector", "tags": {}, "description": "Scores transactions"}}',
  promptVersionCreated:
    '{"entity": "prompt_version", "action": "created", "timestamp": "2026-11-30T12:00:05.000001+00:00", ' +
    '"data": {"name": "summarizer", "version": "1", "template": "Hello {{name}}!", "tags": {}, "description": null}}',
  withWorkspace:
    '{"entity": "model_version", "action": "created", "timestamp": "2026-11-30T12:00:06.000001+00:00", ' +
    '"data": {"name": "iris-classifier", "version": "5", "source": "models:/m-1", "run_id": null, "tags": {}, ' +
    '"description": null}, "workspace": "team-a"}',
};

/** The headers MLflow sends with `body`. */
export function signedHeaders(
  body: string | Buffer,
  o: { secret?: string; deliveryId?: string; timestampS?: number } = {},
): Record<string, string> {
  const deliveryId = o.deliveryId ?? randomUUID();
  const timestamp = String(o.timestampS ?? Math.floor(Date.now() / 1000));
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return {
    'content-type': 'application/json',
    'x-mlflow-delivery-id': deliveryId,
    'x-mlflow-timestamp': timestamp,
    'x-mlflow-signature': signDelivery(o.secret ?? SECRET, deliveryId, timestamp, raw),
  };
}

/** Sends `head` (and optionally streams a body) on a raw socket; resolves with what came back. */
export async function rawExchange(
  port: number,
  head: string,
  stream?: { chunkBytes: number; maxBytes: number },
): Promise<{ response: string; sentBodyBytes: number }> {
  const { connect } = await import('node:net');
  const socket = connect(port, '127.0.0.1');
  let response = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
  socket.on('error', () => {}); // a reset after the answer is expected when the server stops reading
  const done = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(head);
  let sent = 0;
  if (stream) {
    const chunk = Buffer.alloc(stream.chunkBytes, 'a');
    const frame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ]);
    while (!closed && response === '' && sent < stream.maxBytes) {
      sent += chunk.length;
      if (!socket.write(frame)) await Promise.race([new Promise((r) => socket.once('drain', r)), done]);
    }
  }
  await done;
  return { response, sentBodyBytes: sent };
}
