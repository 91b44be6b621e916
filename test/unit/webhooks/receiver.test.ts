import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import type { RegistryEvent } from '../../../src/webhooks/payload.js';
import {
  WebhookConfigError,
  WebhookReceiver,
  type Outcome,
  type WebhookReceiverOptions,
} from '../../../src/webhooks/receiver.js';
import { signDelivery } from '../../../src/webhooks/signature.js';
import { waitFor } from '../../helpers/wait.js';
import { BODIES, rawExchange, SECRET, signedHeaders } from './fixtures.js';

const log = pino({ level: 'silent' });
let dir: string;
let secretFile: string;
let receiver: WebhookReceiver | undefined;
let events: [string, RegistryEvent, string][];
let observed: [string, Outcome][];
const agent = new Agent();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webhooks-'));
});
afterAll(async () => {
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  events = [];
  observed = [];
  secretFile = join(dir, `secret-${Math.random().toString(36).slice(2)}`);
  writeFileSync(secretFile, `${SECRET}\n`);
});
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

async function start(o: Partial<WebhookReceiverOptions> = {}): Promise<WebhookReceiver> {
  receiver = new WebhookReceiver({
    host: '127.0.0.1',
    port: 0,
    sources: [{ name: 'main', secretFiles: [secretFile] }],
    onEvent: (source, event, id) => void events.push([source, event, id]),
    observe: (source, outcome) => void observed.push([source, outcome]),
    log,
    ...o,
  });
  await receiver.start();
  return receiver;
}

async function post(path: string, body: string, headers: Record<string, string>, method = 'POST') {
  const res = await request(`http://127.0.0.1:${receiver?.port}${path}`, {
    method,
    body,
    headers,
    dispatcher: agent,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('WebhookReceiver over HTTP', () => {
  it('hands a verified registry event to onEvent and answers 200', async () => {
    await start();
    const headers = signedHeaders(BODIES.aliasCreated, { deliveryId: 'd-1' });
    const res = await post('/webhooks/main', BODIES.aliasCreated, headers);
    expect([res.status, JSON.parse(res.text)]).toEqual([200, { accepted: true }]);
    expect(events).toEqual([
      [
        'main',
        { kind: 'model_version_alias.created', model: 'iris-classifier', alias: 'champion', version: '3' },
        'd-1',
      ],
    ]);
    expect(observed).toEqual([['main', 'accepted']]);
  });

  it('acknowledges a non-registry event without waking anything', async () => {
    await start();
    const res = await post(
      '/webhooks/main',
      BODIES.promptVersionCreated,
      signedHeaders(BODIES.promptVersionCreated),
    );
    expect([res.status, JSON.parse(res.text)]).toEqual([200, { ignored: true }]);
    expect(events).toEqual([]);
    expect(observed).toEqual([['main', 'ignored']]);
  });

  it('acts on a delivery id once: a replay within the window is a duplicate', async () => {
    await start();
    const headers = signedHeaders(BODIES.modelVersionCreated);
    await post('/webhooks/main', BODIES.modelVersionCreated, headers);
    const again = await post('/webhooks/main', BODIES.modelVersionCreated, headers);
    expect([again.status, JSON.parse(again.text)]).toEqual([200, { duplicate: true }]);
    expect(events).toHaveLength(1);
    expect(observed.map(([, o]) => o)).toEqual(['accepted', 'duplicate']);
  });

  it('refuses a forged delivery with 401, saying nothing of the secret or the expected signature', async () => {
    await start();
    const forged = signedHeaders(BODIES.aliasCreated, { secret: 'guessed' });
    const expected = signDelivery(
      SECRET,
      forged['x-mlflow-delivery-id'] as string,
      forged['x-mlflow-timestamp'] as string,
      Buffer.from(BODIES.aliasCreated),
    );
    const res = await post('/webhooks/main', BODIES.aliasCreated, forged);
    expect([res.status, JSON.parse(res.text)]).toEqual([401, { error: 'signature verification failed' }]);
    expect(res.text).not.toContain(SECRET);
    expect(res.text).not.toContain(expected.slice(3));
    expect(events).toEqual([]);
    expect(observed).toEqual([['main', 'unauthorized']]);
  });

  it('refuses an unsigned delivery and a body changed after signing', async () => {
    await start();
    const unsigned = signedHeaders(BODIES.aliasCreated);
    delete unsigned['x-mlflow-signature'];
    expect((await post('/webhooks/main', BODIES.aliasCreated, unsigned)).status).toBe(401);
    const headers = signedHeaders(BODIES.aliasCreated);
    const tampered = BODIES.aliasCreated.replace('champion', 'prod');
    expect((await post('/webhooks/main', tampered, headers)).status).toBe(401);
    expect(events).toEqual([]);
  });

  it('refuses a replay of an old delivery as stale', async () => {
    await start();
    const old = signedHeaders(BODIES.aliasCreated, { timestampS: Math.floor(Date.now() / 1000) - 301 });
    const res = await post('/webhooks/main', BODIES.aliasCreated, old);
    expect([res.status, JSON.parse(res.text)]).toEqual([401, { error: 'stale timestamp' }]);
  });

  it('uses the injected clock for the window', async () => {
    const nowS = 2_000_000_000;
    await start({ now: () => nowS * 1000 });
    const res = await post(
      '/webhooks/main',
      BODIES.tagSet,
      signedHeaders(BODIES.tagSet, { timestampS: nowS - 10 }),
    );
    expect(res.status).toBe(200);
    const early = signedHeaders(BODIES.tagSet, { timestampS: nowS + 60 });
    expect(JSON.parse((await post('/webhooks/main', BODIES.tagSet, early)).text)).toEqual({
      error: 'timestamp in the future',
    });
  });

  it('answers 400 to a verified body it cannot read, and does not call onEvent', async () => {
    await start();
    for (const body of [
      '{"entity": ',
      '{"entity": "model_version", "action": "created", "timestamp": "t", "data": {}}',
    ]) {
      const res = await post('/webhooks/main', body, signedHeaders(body));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).error).toMatch(/webhook body is not JSON|invalid data: data.name/);
    }
    expect(events).toEqual([]);
    expect(observed.map(([, o]) => o)).toEqual(['bad-request', 'bad-request']);
  });

  it('answers 404 for an unknown source or path, reporting no source name', async () => {
    await start();
    const headers = signedHeaders(BODIES.aliasCreated);
    expect((await post('/webhooks/other', BODIES.aliasCreated, headers)).status).toBe(404);
    expect((await post('/webhooks/main/x', BODIES.aliasCreated, headers)).status).toBe(404);
    expect((await post('/', BODIES.aliasCreated, headers)).status).toBe(404);
    expect(observed).toEqual([
      ['', 'not-found'],
      ['', 'not-found'],
      ['', 'not-found'],
    ]);
  });

  it('answers 405 to anything but POST and 415 to anything but JSON', async () => {
    await start();
    const get = await request(`http://127.0.0.1:${receiver?.port}/webhooks/main`, { dispatcher: agent });
    await get.body.text();
    expect([get.statusCode, get.headers.allow]).toEqual([405, 'POST']);
    const headers = signedHeaders(BODIES.aliasCreated);
    const put = await post('/webhooks/main', BODIES.aliasCreated, headers, 'PUT');
    expect(put.status).toBe(405);
    const text = await post('/webhooks/main', BODIES.aliasCreated, {
      ...headers,
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    const withCharset = {
      ...signedHeaders(BODIES.aliasCreated),
      'content-type': 'application/json; charset=utf-8',
    };
    expect((await post('/webhooks/main', BODIES.aliasCreated, withCharset)).status).toBe(200);
    expect(observed.map(([, o]) => o)).toEqual([
      'method-not-allowed',
      'method-not-allowed',
      'unsupported-media-type',
      'accepted',
    ]);
  });

  it('answers 413 from Content-Length alone, without waiting for the body', async () => {
    await start({ maxBodyBytes: 1024 });
    const { response } = await rawExchange(
      receiver?.port as number,
      'POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response.toLowerCase()).toContain('connection: close');
    expect(observed).toEqual([['main', 'too-large']]);
  });

  it('answers 413 to a streamed body once it passes the limit, and stops reading', async () => {
    await start({ maxBodyBytes: 64 * 1024 });
    const { response, sentBodyBytes } = await rawExchange(
      receiver?.port as number,
      'POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      { chunkBytes: 16 * 1024, maxBytes: 512 * 1024 * 1024 },
    );
    // The client stops when the answer arrives or the server drops the connection; either way
    // long before the 512 MiB it had to send (what is in flight sits in socket buffers only).
    expect(sentBodyBytes).toBeLessThan(64 * 1024 * 1024);
    if (response !== '') expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(observed).toEqual([['main', 'too-large']]);
  });

  it('does not send 100 Continue for a body it refuses', async () => {
    await start({ maxBodyBytes: 1024 });
    const { response } = await rawExchange(
      receiver?.port as number,
      'POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('closes a connection that never finishes its request', async () => {
    await start({ headersTimeoutMs: 200, requestTimeoutMs: 300 });
    const startedAt = Date.now();
    await rawExchange(
      receiver?.port as number,
      'POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    await waitFor('the aborted request to be counted', async () => observed.length > 0, {
      timeoutMs: 2_000,
      intervalMs: 10,
    });
    expect(observed).toEqual([['main', 'aborted']]);
  });

  it('closes a connection that trickles its body slower than the request timeout allows', async () => {
    await start({ headersTimeoutMs: 200, requestTimeoutMs: 500 });
    const socket = connect(receiver?.port as number, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      'POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    const trickle = setInterval(() => socket.write(' '), 50);
    const startedAt = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(trickle);
    expect(Date.now() - startedAt).toBeLessThan(3_000);
  });

  it('re-reads a changed secret file: rotation with two lines, then the old secret removed', async () => {
    await start();
    const signedWith = (secret: string) => signedHeaders(BODIES.tagSet, { secret });
    writeFileSync(secretFile, `new-secret\n${SECRET}\n`);
    expect((await post('/webhooks/main', BODIES.tagSet, signedWith('new-secret'))).status).toBe(200);
    expect((await post('/webhooks/main', BODIES.tagSet, signedWith(SECRET))).status).toBe(200);
    writeFileSync(secretFile, 'new-secret\n');
    expect((await post('/webhooks/main', BODIES.tagSet, signedWith(SECRET))).status).toBe(401);
    expect((await post('/webhooks/main', BODIES.tagSet, signedWith('new-secret'))).status).toBe(200);
  });

  it('keeps each source to its own secrets', async () => {
    const otherFile = join(dir, 'other-secret');
    writeFileSync(otherFile, 'other-secret');
    await start({
      sources: [
        { name: 'main', secretFiles: [secretFile] },
        { name: 'staging', secretFiles: [otherFile] },
      ],
    });
    const headers = signedHeaders(BODIES.aliasCreated, { secret: 'other-secret', deliveryId: 'same-id' });
    expect((await post('/webhooks/main', BODIES.aliasCreated, headers)).status).toBe(401);
    expect((await post('/webhooks/staging', BODIES.aliasCreated, headers)).status).toBe(200);
    expect(events.map(([source]) => source)).toEqual(['staging']);
  });

  it('answers 503 while a source has no readable secret, and refuses to start without one', async () => {
    await start();
    rmSync(secretFile);
    const res = await post('/webhooks/main', BODIES.tagSet, signedHeaders(BODIES.tagSet));
    expect(res.status).toBe(503);
    expect(observed).toEqual([['main', 'unavailable']]);
    await receiver?.stop();
    receiver = new WebhookReceiver({
      port: 0,
      sources: [{ name: 'main', secretFiles: [secretFile] }],
      onEvent: () => {},
      log,
    });
    await expect(receiver.start()).rejects.toThrow(/webhook source "main" has no readable secret/);
  });

  it('answers 500 when onEvent throws, and takes the retry with the same delivery id', async () => {
    let fail = true;
    await start({
      onEvent: (source, event, id) => {
        if (fail) throw new Error('queue closed');
        events.push([source, event, id]);
      },
    });
    const headers = signedHeaders(BODIES.modelVersionCreated);
    expect((await post('/webhooks/main', BODIES.modelVersionCreated, headers)).status).toBe(500);
    fail = false;
    expect((await post('/webhooks/main', BODIES.modelVersionCreated, headers)).status).toBe(200);
    expect(events).toHaveLength(1);
    expect(observed.map(([, o]) => o)).toEqual(['error', 'accepted']);
  });

  it('refuses a delivery id header sent twice', async () => {
    await start();
    const headers = signedHeaders(BODIES.aliasCreated);
    const id = headers['x-mlflow-delivery-id'] as string;
    const { response } = await rawExchange(
      receiver?.port as number,
      `POST /webhooks/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `X-MLflow-Delivery-Id: ${id}\r\nX-MLflow-Delivery-Id: ${id}\r\n` +
        `X-MLflow-Timestamp: ${headers['x-mlflow-timestamp']}\r\nX-MLflow-Signature: ${headers['x-mlflow-signature']}\r\n` +
        `Content-Length: ${Buffer.byteLength(BODIES.aliasCreated)}\r\n\r\n${BODIES.aliasCreated}`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
  });

  it('stop() closes idle keep-alive connections at once', async () => {
    await start();
    await post('/webhooks/main', BODIES.tagSet, signedHeaders(BODIES.tagSet)); // leaves a pooled connection
    const startedAt = Date.now();
    await receiver?.stop();
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(() => receiver?.port).toThrow('not listening');
  });

  it('refuses bad configuration', () => {
    const make = (sources: WebhookReceiverOptions['sources']) =>
      new WebhookReceiver({ port: 0, sources, onEvent: () => {}, log });
    expect(() => make([])).toThrow(WebhookConfigError);
    expect(() => make([{ name: 'Main_Server', secretFiles: ['x'] }])).toThrow('must be a DNS label');
    expect(() => make([{ name: 'a', secretFiles: [] }])).toThrow('has no secret file');
    expect(() =>
      make([
        { name: 'a', secretFiles: ['x'] },
        { name: 'a', secretFiles: ['y'] },
      ]),
    ).toThrow('configured twice');
  });
});
