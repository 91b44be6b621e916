// A dedicated `mlflow server` (from the bed's venv) that a test may stop and start again on the
// same port and SQLite file, to prove the operator rides out a registry outage.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { bed } from './bed.js';
import { waitFor } from './wait.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export class MlflowServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'mlflow-test-'));
  private output = '';

  constructor(readonly port: number) {}

  get uri(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      join(bed.venv, 'bin', 'mlflow'),
      [
        'server',
        '--backend-store-uri',
        `sqlite:///${join(this.dir, 'mlflow.db')}`,
        '--artifacts-destination',
        join(this.dir, 'artifacts'),
        '--host',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--workers',
        '1',
      ],
      {
        env: {
          ...process.env,
          MLFLOW_DISABLE_TELEMETRY: 'true',
          DO_NOT_TRACK: 'true',
          MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    this.child.stdout?.on('data', (d) => (this.output += d));
    this.child.stderr?.on('data', (d) => (this.output = (this.output + d).slice(-20_000)));
    await waitFor(
      `mlflow server on ${this.uri}`,
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`mlflow exited: ${this.output.slice(-2000)}`);
        const res = await request(`${this.uri}/api/2.0/mlflow/registered-models/search?max_results=1`);
        await res.body.dump();
        return res.statusCode === 200;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }

  /** Kills the server and all its workers (it leads its own process group). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
