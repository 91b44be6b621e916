// Runs the built operator (dist/main.js) as its own process, the way it runs in a Pod, so tests
// can SIGKILL or SIGTERM it and start another.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { bed } from './bed.js';
import { applyCrd, createNamespace, deleteNamespace } from './kubectl.js';
import { waitFor } from './wait.js';

export class OperatorProcess {
  private child: ChildProcess | undefined;
  readonly lines: string[] = [];

  constructor(private readonly env: Record<string, string> = {}) {}

  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['dist/main.js'], {
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: bed.kubeconfig,
        LOG_LEVEL: 'debug',
        AWS_EC2_METADATA_DISABLED: 'true',
        // moto stands in for ECR and CodeBuild; the keys are fake and never checked.
        ...(process.env.MOTO_URL ? { AWS_ENDPOINT_URL: process.env.MOTO_URL } : {}),
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        NO_PROXY: '127.0.0.1,localhost',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Kept in memory for assertions and appended to the bed's logs for post-mortems.
    const logFile = process.env.BED_RUN
      ? join(process.env.BED_RUN, 'logs', `operator-${this.child.pid}.log`)
      : undefined;
    const collect = (d: Buffer) => {
      this.lines.push(...d.toString().split('\n').filter(Boolean));
      if (logFile) appendFileSync(logFile, d);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    await waitFor(
      'the operator to start its controller',
      async () => this.logged('Started controller') || this.exited(),
      {
        timeoutMs: 30_000,
      },
    );
    if (this.child.exitCode !== null) throw new Error(`operator exited at start:\n${this.lines.join('\n')}`);
  }

  logged(msg: string): boolean {
    return this.lines.some((l) => l.includes(`"msg":"${msg}"`));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private exited(): boolean {
    return this.child?.exitCode !== null && this.child?.exitCode !== undefined;
  }

  /** Sends `signal` and waits for the exit; returns the exit code (null when killed by signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = once(child, 'exit');
    child.kill(signal);
    const [code] = (await exited) as [number | null];
    return code;
  }
}

/** For a test file: the CRD installed, a fresh namespace, and an operator watching only it.
 * Read the fields inside tests (they are set in beforeAll). */
export function operatorInNamespace(prefix: string): { ns: string; operator: OperatorProcess } {
  const env = { ns: '', operator: undefined as unknown as OperatorProcess };
  beforeAll(async () => {
    await applyCrd();
    env.ns = await createNamespace(prefix);
    env.operator = new OperatorProcess({ WATCH_NAMESPACES: env.ns });
    await env.operator.start();
  });
  afterAll(async () => {
    await env.operator?.stop();
    await deleteNamespace(env.ns);
  });
  return env;
}
