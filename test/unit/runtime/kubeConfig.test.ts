// PooledKubeConfig: one dispatcher per cluster identity, a new one when the TLS files change.
// The connections themselves are counted against the real apiserver in
// test/integration/connectionReuse.test.ts.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import type { Agent } from 'undici';
import { PooledKubeConfig } from '../../../src/runtime/kubeConfig.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function config(user: Record<string, string>, server = 'https://127.0.0.1:6443'): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caData: b64('ca') }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function dispatcherOf(kc: PooledKubeConfig): Promise<Agent | undefined> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher() as Agent | undefined;
}

describe('PooledKubeConfig', () => {
  it('hands every request of the same identity the same dispatcher', async () => {
    const kc = config({ certData: b64('cert'), keyData: b64('key') });
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    for (let i = 0; i < 5; i++) expect(await dispatcherOf(kc)).toBe(first);
    await kc.close();
    expect(first?.closed).toBe(true);
  });

  it('still sets the per-request headers (a token is no part of the identity)', async () => {
    const kc = config({ token: 'a-token' });
    const ctx = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    expect(ctx.getHeaders().Authorization).toBe('Bearer a-token');
    expect(await dispatcherOf(kc)).toBe(ctx.getDispatcher());
    await kc.close();
  });

  it('a rotated certificate file gives a new dispatcher and closes the old one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, 'cert-1');
    writeFileSync(keyFile, 'key-1');
    const kc = config({ certFile, keyFile });
    const before = await dispatcherOf(kc);
    expect(await dispatcherOf(kc)).toBe(before);
    writeFileSync(certFile, 'cert-2');
    writeFileSync(keyFile, 'key-2');
    const after = await dispatcherOf(kc);
    expect(after).not.toBe(before);
    expect(before?.closed).toBe(true);
    expect(await dispatcherOf(kc)).toBe(after);
    await kc.close();
  });

  it('an insecure cluster (skipTLSVerify) shares one dispatcher too', async () => {
    const kc = new PooledKubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:8080', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const first = await dispatcherOf(kc);
    expect(first).toBeDefined();
    expect(await dispatcherOf(kc)).toBe(first);
    await kc.close();
  });
});
