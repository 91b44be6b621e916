// Runs the built operator (dist/main.js) as its own process, the way it runs in a Pod, so tests
// can SIGKILL or SIGTERM it and start another.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { bed } from './bed.js';
import { waitFor } from './wait.js';

export interface OperatorProcessOptions {
  /** The log message start() waits for, before /readyz: "Started controller" by default. A
   * replica that runs for leader election and may not lead waits for "Attempting to acquire
   * leader lease". */
  readyLog?: string;
  /** Serve probes on this port and count the process as started once /readyz answers 200,
   * without waiting for log lines: for a process run with LOG_LEVEL=warn, which logs neither. */
  healthPort?: number;
}

export class OperatorProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;
  readonly lines: string[] = [];
  /** Where the latest process's output goes (in the bed's logs), if anywhere. */
  logFile: string | undefined;

  constructor(
    private readonly env: Record<string, string> = {},
    private readonly options: OperatorProcessOptions = {},
  ) {}

  async start(): Promise<void> {
    const from = this.lines.length; // a restarted process: only its own lines count
    // OPERATOR_MAIN: another build of the operator (a benchmark's "before" figures).
    this.child = spawn(process.execPath, [process.env.OPERATOR_MAIN ?? 'dist/main.js'], {
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
        // One process per test unless a test runs replicas that elect a leader.
        LEADER_ELECT: 'false',
        // Several operators may run at once: let each pick free ports (logged at start).
        METRICS_PORT: '0',
        HEALTH_PORT: String(this.options.healthPort ?? 0),
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = this.child;
    this.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    // Kept in memory for assertions and appended to the bed's logs for post-mortems.
    const logFile = process.env.BED_RUN
      ? join(process.env.BED_RUN, 'logs', `operator-${this.child.pid}.log`)
      : undefined;
    this.logFile = logFile;
    // A chunk may end inside a line: keep the rest until the next chunk of the same stream.
    const collect = (stream: Readable | null) => {
      let partial = '';
      stream?.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        this.lines.push(...parts.filter(Boolean));
        if (logFile) appendFileSync(logFile, d);
      });
      stream?.on('end', () => partial && this.lines.push(partial));
    };
    collect(this.child.stdout);
    collect(this.child.stderr);
    if (this.options.healthPort === undefined) {
      const ready = this.options.readyLog ?? 'Started controller';
      await waitFor(`the operator to log "${ready}"`, async () => this.logged(ready, from) || this.exited(), {
        timeoutMs: 30_000,
      });
      this.failIfExited();
    }
    // Ready as a kubelet would see it: caches synced (an informer may have had to retry its
    // first list, e.g. right after the CRD was created), or standing by for the Lease.
    const health = this.options.healthPort ?? servedPorts(this).health;
    await waitFor('the operator to answer /readyz with 200', async () => {
      if (this.exited()) return true;
      const res = await request(`http://127.0.0.1:${health}/readyz`).catch(() => undefined);
      await res?.body.dump();
      return res?.statusCode === 200;
    });
    this.failIfExited();
  }

  private failIfExited(): void {
    if (this.exited()) throw new Error(`operator exited at start:\n${this.lines.join('\n')}`);
  }

  logged(msg: string, fromLine = 0): boolean {
    return this.lines.slice(fromLine).some((l) => l.includes(`"msg":"${msg}"`));
  }

  /** The parsed log lines with this message. */
  entries(msg: string): Record<string, unknown>[] {
    return this.lines
      .filter((l) => l.includes(`"msg":"${msg}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** The latest process's pid (for /proc figures in benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private exited(): boolean {
    return this.child !== undefined && !this.running;
  }

  /** Resolves once the latest process exits, with its exit code (null when a signal ended it). */
  whenExited(): Promise<number | null> {
    return this.exit ?? Promise.resolve(null);
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

/** The ports an operator (its latest process) logged when it started serving probes and metrics. */
export function servedPorts(op: OperatorProcess): { health: number; metrics: number } {
  const entry = op.entries('Serving probes and metrics').at(-1) as
    { healthPort: number; metricsPort: number } | undefined;
  if (!entry) throw new Error('the operator has not logged its probe and metrics ports');
  return { health: entry.healthPort, metrics: entry.metricsPort };
}
