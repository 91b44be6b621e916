// One client-node Watch on a collection that outlives the apiserver closing it: it reopens from
// the last resourceVersion seen (bookmarks included) and lists afresh after 410 Gone. Every
// event carries performance.now() taken first thing on its arrival, which is what the bench
// measures with.
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../test/helpers/wait.js';

export interface KubeObject {
  metadata?: {
    name?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
  };
}

export type WatchHandler = (type: string, obj: KubeObject, t: number) => void;

/** What a watch went through; reconnects delay the events that happen meanwhile. */
export interface WatchFacts {
  path: string;
  reconnects: number;
  relists: number;
  lastError: string | undefined;
}

// client-node aborts a watch after 30 s without data; a quiet namespace between runs is normal,
// so allow longer (the server closes it after timeoutSeconds anyway).
const REQUEST_TIMEOUT_MS = 330_000;
const SERVER_TIMEOUT_SECONDS = 300;
const START_TIMEOUT_MS = 30_000;

const messageOf = (err: unknown) => (err as Error | undefined)?.message ?? String(err);

export class ResumingWatch {
  private rv: string | undefined;
  private stopped = false;
  private controller: AbortController | undefined;
  readonly facts: WatchFacts;

  constructor(
    private readonly kc: KubeConfig,
    readonly path: string,
    private readonly onEvent: WatchHandler,
  ) {
    this.facts = { path, reconnects: 0, relists: 0, lastError: undefined };
  }

  /** Resolves once the apiserver accepted the watch. Right after a CRD is created it answers
   * 429 until its watch cache is ready, so refusals are retried for a while. */
  async start(): Promise<void> {
    await waitFor(
      `a watch on ${this.path}`,
      async () => {
        const err = await this.connect();
        if (err) throw new Error(messageOf(err));
        return true;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250 },
    );
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  /** Opens the watch; resolves once the apiserver answered (undefined) or with the error. */
  private async connect(): Promise<unknown> {
    if (this.stopped) return undefined;
    const watch = new Watch(this.kc);
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = REQUEST_TIMEOUT_MS;
    const params: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      timeoutSeconds: SERVER_TIMEOUT_SECONDS,
    };
    if (this.rv) params.resourceVersion = this.rv;
    let failedAtStart: unknown;
    let opened = false;
    this.controller = await watch.watch(
      this.path,
      params,
      (type: string, obj: KubeObject & { code?: number; message?: string }) => {
        const t = performance.now(); // first thing: the event's arrival time
        if (type === 'ERROR') {
          this.facts.lastError = `${obj?.code} ${obj?.message}`;
          if (obj?.code === 410) {
            this.rv = undefined; // too old: start over with a fresh list (synthetic ADDED events)
            this.facts.relists += 1;
          }
          return;
        }
        if (obj?.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (type !== 'BOOKMARK') this.onEvent(type, obj, t);
      },
      (err: unknown) => {
        if (!opened) {
          failedAtStart = err ?? new Error('closed at once');
          return;
        }
        if (!this.stopped) this.reconnect(err);
      },
    );
    opened = failedAtStart === undefined;
    if (this.stopped) this.controller.abort(); // stopped while the apiserver was answering
    return failedAtStart;
  }

  private reconnect(err: unknown): void {
    if (err) this.facts.lastError = messageOf(err);
    this.facts.reconnects += 1;
    void sleep(err ? 250 : 0).then(async () => {
      const e = await this.connect();
      if (e && !this.stopped) {
        this.facts.lastError = messageOf(e);
        this.facts.reconnects += 1;
        await sleep(1000);
        void this.connect();
      }
    });
  }
}
