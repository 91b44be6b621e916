// Connection reuse to the real apiserver: every request and watch through PooledKubeConfig rides
// the same TLS connection, where client-node's own KubeConfig opens one per call. Counted by a
// TCP relay on 127.0.0.1 between the client and the apiserver.
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../../src/runtime/kubeConfig.js';
import { bed } from '../helpers/bed.js';

interface Relay {
  server: Server;
  port: number;
  connections: () => number;
}

/** A TCP relay to the apiserver that counts the connections clients open through it. */
async function relayTo(target: URL): Promise<Relay> {
  let count = 0;
  const server = createServer((client) => {
    count++;
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, connections: () => count };
}

/** The bed's kubeconfig, pointed at the relay. */
function throughRelay<T extends KubeConfig>(kc: T, port: number): T {
  kc.loadFromFile(bed.kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the bed kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  kc.clusters = kc.clusters.map((c) =>
    c.name === cluster.name
      ? { ...c, server: `https://127.0.0.1:${port}${server.pathname.replace(/\/$/, '')}` }
      : c,
  );
  return kc;
}

/** 30 GETs and 3 short watches, one after another, as a reconcile loop makes them. */
async function workload(kc: KubeConfig): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 30; i++) await core.listNamespace({ limit: 1 });
  for (let i = 0; i < 3; i++) {
    const ended = new Promise<void>((resolve) => {
      void new Watch(kc).watch(
        '/api/v1/namespaces',
        { timeoutSeconds: 1 },
        () => undefined,
        () => resolve(),
      );
    });
    await ended;
  }
}

test('PooledKubeConfig: one connection for 30 calls and 3 watches; client-node’s KubeConfig: one per call', async () => {
  const target = new URL(bedServer());
  const pooledRelay = await relayTo(target);
  const stockRelay = await relayTo(target);
  const pooled = throughRelay(new PooledKubeConfig(), pooledRelay.port);
  try {
    await workload(pooled);
    await workload(throughRelay(new KubeConfig(), stockRelay.port));
    console.log(
      `apiserver connections for 30 GETs + 3 watches: pooled ${pooledRelay.connections()}, client-node ${stockRelay.connections()}`,
    );
    expect(pooledRelay.connections()).toBeLessThanOrEqual(2);
    expect(stockRelay.connections()).toBeGreaterThanOrEqual(30);
  } finally {
    await pooled.close();
    pooledRelay.server.close();
    stockRelay.server.close();
  }
});

function bedServer(): string {
  const kc = new KubeConfig();
  kc.loadFromFile(bed.kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the bed kubeconfig has no current cluster');
  return server;
}
