// Client-side flow control of apiserver calls, as client-go does it: a token bucket (QPS with a
// burst) in front of every request, and a 429 (the apiserver's priority and fairness shedding
// load) answered by waiting what Retry-After says, within bounds, and sending the same request
// again, instead of failing the reconcile.
import {
  Observable,
  type HttpLibrary,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** `qps` tokens a second, at most `burst` saved up; take() waits for one. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when the caller may send; callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeOne());
    this.queue = turn;
    return turn;
  }

  private async takeOne(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.wait(Math.ceil(((1 - this.tokens) / this.qps) * 1000));
    }
  }
}

export interface RetryOptions {
  /** Resends of one request answered 429. */
  maxRetries?: number;
  /** Longest wait between them, whatever Retry-After says. */
  maxWaitMs?: number;
  wait?: (ms: number) => Promise<void>;
}

/** Retry-After in milliseconds: seconds or an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number {
  if (value === undefined || value.trim() === '') return 1000;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - now);
}

export class ThrottledHttpLibrary implements HttpLibrary {
  constructor(
    private readonly inner: HttpLibrary,
    private readonly bucket: TokenBucket | undefined,
    private readonly options: RetryOptions = {},
  ) {}

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.sendWithRetries(request));
  }

  private async sendWithRetries(request: RequestContext): Promise<ResponseContext> {
    const { maxRetries = 5, maxWaitMs = 30_000, wait = sleep } = this.options;
    for (let attempt = 0; ; attempt++) {
      await this.bucket?.take();
      const response = await this.inner.send(request).toPromise();
      if (response.httpStatusCode !== 429 || attempt >= maxRetries) return response;
      await response.body.text().catch(() => undefined); // frees the connection for the resend
      await wait(Math.min(maxWaitMs, retryAfterMs(response.headers['retry-after'])));
    }
  }
}
