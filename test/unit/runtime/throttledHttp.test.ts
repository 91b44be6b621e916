// Client-side flow control: the token bucket's pace, and 429 answered by waiting Retry-After
// and sending again (bounded), with a fake clock and a fake HTTP library.
import { describe, expect, it } from '@jest/globals';
import {
  HttpMethod,
  Observable,
  RequestContext,
  ResponseContext,
  type HttpLibrary,
} from '@kubernetes/client-node';
import { retryAfterMs, ThrottledHttpLibrary, TokenBucket } from '../../../src/runtime/throttledHttp.js';

function fakeClock() {
  let ms = 0;
  const waits: number[] = [];
  return {
    now: () => ms,
    wait: async (d: number) => {
      waits.push(d);
      ms += d;
    },
    waits,
  };
}

const response = (status: number, headers: Record<string, string> = {}) =>
  new ResponseContext(status, headers, {
    text: async () => '',
    binary: async () => Buffer.from(''),
    stream: () => null,
  });

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces at qps', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 3, clock.now, clock.wait);
    for (let i = 0; i < 3; i++) await bucket.take();
    expect(clock.waits).toEqual([]);
    for (let i = 0; i < 5; i++) await bucket.take();
    expect(clock.now()).toBe(500); // 5 more at 10 a second
  });

  it('serves callers in order', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1, 1, clock.now, clock.wait);
    const order: number[] = [];
    await Promise.all([0, 1, 2].map((i) => bucket.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2]);
    expect(clock.now()).toBe(2000);
  });
});

describe('ThrottledHttpLibrary', () => {
  const request = () => new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  const library = (answers: ResponseContext[]) => {
    const sent: number[] = [];
    const inner: HttpLibrary = {
      send: () => {
        sent.push(sent.length);
        return new Observable(
          Promise.resolve(answers[Math.min(sent.length - 1, answers.length - 1)] as ResponseContext),
        );
      },
    };
    return { inner, sent };
  };

  it('waits what Retry-After says after a 429 and sends again', async () => {
    const clock = fakeClock();
    const { inner, sent } = library([response(429, { 'retry-after': '2' }), response(200)]);
    const http = new ThrottledHttpLibrary(inner, new TokenBucket(1e6, 1e6), { wait: clock.wait });
    const res = await http.send(request()).toPromise();
    expect(res.httpStatusCode).toBe(200);
    expect(sent).toHaveLength(2);
    expect(clock.waits).toEqual([2000]);
  });

  it('gives up after maxRetries and caps the wait', async () => {
    const clock = fakeClock();
    const { inner, sent } = library([response(429, { 'retry-after': '600' })]);
    const http = new ThrottledHttpLibrary(inner, new TokenBucket(1e6, 1e6), {
      wait: clock.wait,
      maxRetries: 2,
      maxWaitMs: 5000,
    });
    expect((await http.send(request()).toPromise()).httpStatusCode).toBe(429);
    expect(sent).toHaveLength(3);
    expect(clock.waits).toEqual([5000, 5000]);
  });

  it('passes any other answer through untouched', async () => {
    const { inner, sent } = library([response(500)]);
    const http = new ThrottledHttpLibrary(inner, new TokenBucket(1e6, 1e6));
    expect((await http.send(request()).toPromise()).httpStatusCode).toBe(500);
    expect(sent).toHaveLength(1);
  });
});

describe('retryAfterMs', () => {
  it.each([
    ['seconds', '3', 3000],
    ['zero', '0', 0],
    ['absent', undefined, 1000],
    ['garbage', 'soon', 1000],
    ['an HTTP date 10 s ahead', new Date(Date.parse('2026-01-01T00:00:10Z')).toUTCString(), 10_000],
  ] as const)('%s', (_name, value, ms) => {
    expect(retryAfterMs(value, Date.parse('2026-01-01T00:00:00Z'))).toBe(ms);
  });
});
