// connect(): the requests the plugin sends, against a stand-in apiserver on a local port: the
// path, the merge patch and its content type, the field selector, a watch, the errors in words.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type WatchEnd } from '../../../src/cli/client.js';
import { resolveOnly } from './fixtures.js';

// client-node speaks plain HTTP only with TLS verification off.
const BASE = '/apis/mlops.healthpredict.io/v1alpha1/namespaces';
interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}
const seen: Seen[] = [];
let server: Server;
let kubeconfig: string;
let closed: string; // a port nothing listens on

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });

function status(code: number, message: string, details?: object) {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message, details });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await read(req);
    const url = req.url ?? '';
    seen.push({ method: req.method ?? '', url, contentType: req.headers['content-type'], body });
    const json = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(text);
    };
    if (url.startsWith(`${BASE}/nocrd/`))
      return json(404, status(404, 'the server could not find the requested resource'));
    if (url === `${BASE}/ml/modeldeployments/nope`)
      return json(
        404,
        status(404, 'modeldeployments.mlops.healthpredict.io "nope" not found', { name: 'nope' }),
      );
    if (url === `${BASE}/ml/modeldeployments/iris` && req.method === 'GET')
      return json(200, JSON.stringify(resolveOnly));
    if (url === `${BASE}/ml/modeldeployments/iris` && req.method === 'PATCH') {
      const patch = JSON.parse(body) as { metadata: { annotations: Record<string, string> } };
      return json(
        200,
        JSON.stringify({ ...resolveOnly, metadata: { ...resolveOnly.metadata, ...patch.metadata } }),
      );
    }
    if (url.startsWith(`${BASE}/ml/modeldeployments?`) && url.includes('watch=true')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const changed = { ...resolveOnly, metadata: { ...resolveOnly.metadata, resourceVersion: '43' } };
      res.write(JSON.stringify({ type: 'MODIFIED', object: changed }) + '\n');
      return res.end(); // as the apiserver does after timeoutSeconds
    }
    if (url.startsWith(`${BASE}/ml/modeldeployments?`))
      return json(200, JSON.stringify({ items: [resolveOnly], metadata: { resourceVersion: '42' } }));
    json(500, status(500, `unexpected ${req.method} ${url}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  closed = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
  await new Promise((resolve) => gone.close(resolve));
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-md-'));
  kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
        { name: 'closed', cluster: { server: closed, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 'not-a-secret' } }],
      contexts: [
        { name: 'fake', context: { cluster: 'fake', user: 'u', namespace: 'ml' } },
        { name: 'no-namespace', context: { cluster: 'fake', user: 'u' } },
        { name: 'closed', context: { cluster: 'closed', user: 'u', namespace: 'ml' } },
      ],
      'current-context': 'fake',
    }),
  );
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('connect', () => {
  it('takes the namespace from the flag, else the context, else "default"', () => {
    expect(connect({ kubeconfig }).namespace).toBe('ml');
    expect(connect({ kubeconfig, namespace: 'other' }).namespace).toBe('other');
    expect(connect({ kubeconfig, context: 'no-namespace' }).namespace).toBe('default');
  });

  it('refuses a context the kubeconfig does not have, and a missing kubeconfig', () => {
    expect(() => connect({ kubeconfig, context: 'nowhere' })).toThrow(
      'context "nowhere" is not in the kubeconfig',
    );
    expect(() => connect({ kubeconfig: '/nonexistent/kubeconfig' })).toThrow(/^cannot load the kubeconfig: /);
  });

  it('gets the object by name', async () => {
    const md = await connect({ kubeconfig }).get('iris');
    expect(md.status?.phase).toBe('Succeeded');
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: `${BASE}/ml/modeldeployments/iris` });
  });

  it('annotates with a JSON merge patch of metadata.annotations only', async () => {
    const md = await connect({ kubeconfig }).annotate('iris', { 'mlops.healthpredict.io/retry': 't1' });
    expect(md.metadata.annotations).toEqual({ 'mlops.healthpredict.io/retry': 't1' });
    expect(seen.at(-1)).toMatchObject({
      method: 'PATCH',
      url: `${BASE}/ml/modeldeployments/iris`,
      contentType: 'application/merge-patch+json',
    });
    expect(JSON.parse(seen.at(-1)?.body ?? '')).toEqual({
      metadata: { annotations: { 'mlops.healthpredict.io/retry': 't1' } },
    });
  });

  it('lists and watches the one object by field selector, from the list resourceVersion', async () => {
    const api = connect({ kubeconfig });
    const listed = await api.list('iris');
    expect(listed).toMatchObject({ resourceVersion: '42', md: { metadata: { name: 'iris' } } });
    expect(new URL(seen.at(-1)?.url ?? '', 'http://x').searchParams.get('fieldSelector')).toBe(
      'metadata.name=iris',
    );

    const events: [string, unknown][] = [];
    const end = await new Promise<WatchEnd>((resolve) => {
      void api.watch('iris', listed.resourceVersion, { event: (t, o) => events.push([t, o]), done: resolve });
    });
    expect(end).toEqual({ kind: 'closed' });
    expect(events).toEqual([
      ['MODIFIED', expect.objectContaining({ metadata: expect.objectContaining({ resourceVersion: '43' }) })],
    ]);
    const query = new URL(seen.at(-1)?.url ?? '', 'http://x').searchParams;
    expect(Object.fromEntries(query)).toMatchObject({
      watch: 'true',
      fieldSelector: 'metadata.name=iris',
      resourceVersion: '42',
      allowWatchBookmarks: 'true',
    });
    expect(Number(query.get('timeoutSeconds'))).toBeLessThan(30); // before client-node's idle abort
  });

  it('says what went wrong in one line', async () => {
    await expect(connect({ kubeconfig }).get('nope')).rejects.toThrow(
      /^modeldeployments.mlops.healthpredict.io "nope" not found$/,
    );
    await expect(connect({ kubeconfig, namespace: 'nocrd' }).get('iris')).rejects.toThrow(
      'the server could not find the requested resource: is the ModelDeployment CRD (modeldeployments.mlops.healthpredict.io) installed?',
    );
    await expect(connect({ kubeconfig, context: 'closed' }).get('iris')).rejects.toThrow(
      `cannot reach the apiserver at ${closed}: connection refused`,
    );
  });

  it('a watch that cannot connect ends as failed, in words', async () => {
    const end = await new Promise<WatchEnd>((resolve) => {
      void connect({ kubeconfig, context: 'closed' }).watch('iris', '1', {
        event: () => undefined,
        done: resolve,
      });
    });
    expect(end).toEqual({
      kind: 'failed',
      message: `cannot reach the apiserver at ${closed}: connection refused`,
    });
  });
});
