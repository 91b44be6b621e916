import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { WebhookReceiver } from '../../../src/webhooks/receiver.js';
import { waitFor } from '../../helpers/wait.js';
import { BODIES, SECRET, signedHeaders } from './fixtures.js';

const log = pino({ level: 'silent' });
let dir: string;
let receiver: WebhookReceiver | undefined;
const events: unknown[] = [];

interface Pair {
  cert: Buffer;
  key: Buffer;
  fingerprint: string;
}

/** A self-signed P-256 certificate for 127.0.0.1, as openssl writes it. */
function selfSigned(name: string): Pair {
  const out = join(dir, name);
  mkdirSync(out);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      join(out, 'tls.key'),
      '-out',
      join(out, 'tls.crt'),
    ],
    { stdio: 'pipe' },
  );
  const cert = readFileSync(join(out, 'tls.crt'));
  return {
    cert,
    key: readFileSync(join(out, 'tls.key')),
    fingerprint: new X509Certificate(cert).fingerprint256,
  };
}

/**
 * A Secret volume the way the kubelet writes one: tls.crt -> ..data/tls.crt, ..data -> a
 * timestamped directory, replaced by renaming a new ..data symlink over the old one.
 */
function secretVolume(): { dir: string; publish(pair: Pick<Pair, 'cert' | 'key'>): void } {
  const volume = join(dir, `volume-${Math.random().toString(36).slice(2)}`);
  mkdirSync(volume);
  let generation = 0;
  const publish = (pair: Pick<Pair, 'cert' | 'key'>) => {
    const target = `..${++generation}`;
    mkdirSync(join(volume, target));
    writeFileSync(join(volume, target, 'tls.crt'), pair.cert);
    writeFileSync(join(volume, target, 'tls.key'), pair.key);
    symlinkSync(target, join(volume, '..data_tmp'));
    renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  };
  return {
    dir: volume,
    publish: (pair) => {
      publish(pair);
      if (generation === 1) {
        symlinkSync('..data/tls.crt', join(volume, 'tls.crt'));
        symlinkSync('..data/tls.key', join(volume, 'tls.key'));
      }
    },
  };
}

/** The SHA-256 fingerprint of the certificate a new TLS connection is served. */
async function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

async function deliver(port: number, ca: Buffer): Promise<number> {
  const agent = new Agent({ connect: { ca } });
  try {
    const res = await request(`https://127.0.0.1:${port}/webhooks/main`, {
      method: 'POST',
      body: BODIES.aliasCreated,
      headers: signedHeaders(BODIES.aliasCreated),
      dispatcher: agent,
    });
    await res.body.text();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

async function start(volume: string, reloadIntervalMs = 60_000): Promise<WebhookReceiver> {
  const secretFile = join(volume, 'webhook-secret');
  writeFileSync(secretFile, SECRET);
  receiver = new WebhookReceiver({
    host: '127.0.0.1',
    port: 0,
    sources: [{ name: 'main', secretFiles: [secretFile] }],
    tls: { certFile: join(volume, 'tls.crt'), keyFile: join(volume, 'tls.key'), reloadIntervalMs },
    onEvent: (_source, event) => void events.push(event),
    log,
  });
  await receiver.start();
  return receiver;
}

let first: Pair;
let second: Pair;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webhooks-tls-'));
  first = selfSigned('first');
  second = selfSigned('second');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

describe('WebhookReceiver over HTTPS', () => {
  it('accepts a signed delivery from a client that trusts its certificate', async () => {
    const volume = secretVolume();
    volume.publish(first);
    const { port } = await start(volume.dir);
    expect(await deliver(port, first.cert)).toBe(200);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'model_version_alias.created' }));
    await expect(deliver(port, second.cert)).rejects.toThrow(); // a client trusting another CA
  });

  it('serves a certificate rotated in its Secret volume on its next check', async () => {
    const volume = secretVolume();
    volume.publish(first);
    const { port } = await start(volume.dir, 50);
    expect(await servedFingerprint(port)).toBe(first.fingerprint);
    volume.publish(second);
    await waitFor(
      'the rotated certificate',
      async () => (await servedFingerprint(port)) === second.fingerprint,
      {
        timeoutMs: 5_000,
        intervalMs: 25,
      },
    );
    expect(await deliver(port, second.cert)).toBe(200);
  });

  it('picks up files rewritten in place', async () => {
    const volume = join(dir, 'in-place');
    mkdirSync(volume);
    writeFileSync(join(volume, 'tls.crt'), first.cert);
    writeFileSync(join(volume, 'tls.key'), first.key);
    const r = await start(volume);
    expect(await r.reloadTls()).toBe(false); // nothing changed
    writeFileSync(join(volume, 'tls.crt'), second.cert);
    writeFileSync(join(volume, 'tls.key'), second.key);
    expect(await r.reloadTls()).toBe(true);
    expect(await servedFingerprint(r.port)).toBe(second.fingerprint);
  });

  it('keeps the current certificate while the new key does not match it, then takes the fixed pair', async () => {
    const volume = secretVolume();
    volume.publish(first);
    const r = await start(volume.dir);
    volume.publish({ cert: second.cert, key: first.key });
    expect(await r.reloadTls()).toBe(false);
    expect(await servedFingerprint(r.port)).toBe(first.fingerprint);
    expect(await deliver(r.port, first.cert)).toBe(200);
    volume.publish(second);
    expect(await r.reloadTls()).toBe(true);
    expect(await servedFingerprint(r.port)).toBe(second.fingerprint);
  });

  it('refuses to start without a readable certificate', async () => {
    const volume = join(dir, 'empty');
    mkdirSync(volume);
    await expect(start(volume)).rejects.toThrow(
      /cannot serve TLS with certificate .*tls\.crt and key .*tls\.key: .*ENOENT/,
    );
  });
});
