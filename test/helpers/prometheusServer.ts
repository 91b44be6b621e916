// A real Prometheus (built from the Go module proxy by test/bed/build.sh) on 127.0.0.1 that
// discovers the Pods of one namespace through the bed's apiserver and scrapes each one's "http"
// port every second: what a canary's Prometheus analysis queries.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { bed, required } from './bed.js';
import { freePort } from './mlflowServer.js';
import { waitFor } from './wait.js';

export class PrometheusServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
  private output = '';
  port = 0;

  constructor(private readonly namespace: string) {}

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const config = join(this.dir, 'prometheus.yml');
    writeFileSync(
      config,
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          {
            job_name: 'pods',
            // The stand-in app serves its metrics as a plain file: no text-format Content-Type.
            fallback_scrape_protocol: 'PrometheusText0.0.4',
            kubernetes_sd_configs: [
              { role: 'pod', kubeconfig_file: bed.kubeconfig, namespaces: { names: [this.namespace] } },
            ],
            relabel_configs: [
              { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http', action: 'keep' },
              { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
            ],
          },
        ],
      }),
    );
    this.child = spawn(
      required('BED_PROMETHEUS'),
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        // New Pods become targets within a second, not Prometheus's default five.
        '--scrape.discovery-reload-interval=1s',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000));
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    try {
      await waitFor(
        'Prometheus to be ready',
        async () => {
          try {
            const res = await request(`${this.address}/-/ready`);
            await res.body.dump();
            return res.statusCode === 200;
          } catch {
            return false;
          }
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; Prometheus said:\n${this.output}`, { cause: err });
    }
  }

  /** The value of an instant query, or undefined when it has none. */
  async query(promql: string): Promise<number | undefined> {
    const res = await request(`${this.address}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await res.body.json()) as { data: { result: { value: [number, string] }[] } };
    const first = body.data.result[0];
    return first ? Number(first.value[1]) : undefined;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await new Promise((r) => this.child?.once('exit', r));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
