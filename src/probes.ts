// The operator's HTTP endpoints: /healthz and /readyz on the health port (kubelet probes), and
// /metrics on the metrics port (Prometheus). Plain node:http; nothing here reads a request body.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Probe {
  /** Null when fine, else why not. */
  (): string | null;
}

export interface ProbeServerOptions {
  healthPort: number;
  metricsPort: number;
  host?: string;
  liveness: Probe;
  readiness: Probe;
  registry: Registry;
}

export async function startProbeServers(
  o: ProbeServerOptions,
): Promise<{ close(): Promise<void>; ports: { health: number; metrics: number } }> {
  const health = createServer((req, res) => {
    const probe = req.url === '/healthz' ? o.liveness : req.url === '/readyz' ? o.readiness : undefined;
    if (!probe) {
      res.writeHead(404).end();
      return;
    }
    const problem = probe();
    res.writeHead(problem ? 503 : 200, { 'content-type': 'text/plain' }).end(problem ?? 'ok');
  });
  const metrics = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    o.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, o.host ?? '0.0.0.0', () => resolve((server.address() as { port: number }).port));
    });
  const ports = { health: await listen(health, o.healthPort), metrics: await listen(metrics, o.metricsPort) };
  const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
  return { ports, close: async () => void (await Promise.all([close(health), close(metrics)])) };
}
