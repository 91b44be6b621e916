// A dedicated `mlflow server` (from the bed's venv) that a test may stop and start again on the
// same port and SQLite file, to prove the operator rides out a registry outage.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  /** `basicAuth`: run MLflow's own basic-auth app with this admin user. */
  constructor(
    readonly port: number,
    private readonly basicAuth?: { username: string; password: string },
  ) {}

  private authArgs(): { args: string[]; env: Record<string, string> } {
    if (!this.basicAuth) return { args: [], env: {} };
    const ini = join(this.dir, 'basic_auth.ini');
    writeFileSync(
      ini,
      [
        '[mlflow]',
        'default_permission = READ',
        `database_uri = sqlite:///${join(this.dir, 'basic_auth.db')}`,
        `admin_username = ${this.basicAuth.username}`,
        `admin_password = ${this.basicAuth.password}`,
        'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
        '',
      ].join('\n'),
    );
    // The auth app refuses to start without a fixed CSRF key; a random one per test server will do.
    const csrfKey = randomBytes(16).toString('hex');
    return {
      args: ['--app-name', 'basic-auth'],
      env: { MLFLOW_AUTH_CONFIG_PATH: ini, MLFLOW_FLASK_SERVER_SECRET_KEY: csrfKey },
    };
  }

  get uri(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const auth = this.authArgs();
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
        ...auth.args,
      ],
      {
        env: {
          ...process.env,
          MLFLOW_DISABLE_TELEMETRY: 'true',
          DO_NOT_TRACK: 'true',
          MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
          ...auth.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    this.child.stdout?.on('data', (d) => (this.output += d));
    this.child.stderr?.on('data', (d) => (this.output = (this.output + d).slice(-20_000)));
    const child = this.child;
    let ready = false;
    const died = once(child, 'exit').then(() => {
      if (!ready) throw new Error(`mlflow server exited during start-up:\n${this.output.slice(-3000)}`);
    });
    died.catch(() => undefined); // reported through the race below, or moot once ready
    await Promise.race([
      died,
      waitFor(
        `mlflow server on ${this.uri}`,
        async () => {
          const res = await request(`${this.uri}/api/2.0/mlflow/registered-models/search?max_results=1`);
          await res.body.dump();
          return res.statusCode < 500; // 401 too: the API is up, it just wants credentials
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      ),
    ]);
    ready = true;
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
