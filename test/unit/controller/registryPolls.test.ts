// Shared registry polls: one request per question for every follower, an answer reused while
// recent, a slow request left in flight and its answer delivered by waking, news waking every
// follower, and a server that is down backing off as a whole.
import { describe, expect, it } from '@jest/globals';
import { MlflowError, type ModelVersion } from '../../../src/clients/mlflow.js';
import { RegistryPolls, type PollRequest } from '../../../src/controller/registryPolls.js';
import { deferred, flushMicrotasks } from '../helpers/async.js';
import { version } from '../helpers/reconcilerFakes.js';

const KEY = 'ml/churn';
const Q1 = '["http://mlflow","alias:champion"]';
const Q2 = '["http://mlflow","alias:challenger"]';
const SERVER = 'http://mlflow';

function setup(perServerLimit = 4) {
  const woken: string[] = [];
  const clock = { ms: 1_000_000 };
  const polls = new RegistryPolls({
    budgetMs: 20,
    perServerLimit,
    wake: (k) => woken.push(k),
    now: () => clock.ms,
    serverBackoff: { baseMs: 1000, maxMs: 8000 },
  });
  return { polls, woken, clock };
}

const ask = (
  answer: () => Promise<ModelVersion>,
  over: Partial<PollRequest> = {},
): PollRequest & { count: () => number } => {
  let asked = 0;
  return {
    question: Q1,
    server: SERVER,
    maxAgeMs: 10_000,
    ask: () => {
      asked++;
      return answer();
    },
    count: () => asked,
    ...over,
  };
};

describe('RegistryPolls', () => {
  it('an answer within the budget is handed over at once with its time; nothing is woken', async () => {
    const { polls, woken, clock } = setup();
    expect(
      await polls.poll(
        KEY,
        ask(async () => version('3')),
      ),
    ).toEqual({
      kind: 'answer',
      version: version('3'),
      atMs: clock.ms,
    });
    expect(polls.has(KEY, Q1, clock.ms)).toBe(false);
    expect(woken).toEqual([]);
  });

  it('a failure within the budget is handed over as such', async () => {
    const { polls, clock } = setup();
    const err = new Error('refused');
    expect(
      await polls.poll(
        KEY,
        ask(async () => Promise.reject(err)),
      ),
    ).toEqual({
      kind: 'failed',
      error: err,
      atMs: clock.ms,
    });
  });

  it('followers of one question share one request; a recent answer is reused, an older one is not', async () => {
    const { polls, clock } = setup();
    const req = ask(async () => version('3'));
    await polls.poll('ml/a', req);
    clock.ms += 9_000;
    const reused = await polls.poll('ml/b', req);
    expect(reused).toMatchObject({ kind: 'answer', atMs: clock.ms - 9_000 }); // its poll counts from then
    expect(req.count()).toBe(1);
    clock.ms += 2_000; // now 11 s old: older than maxAgeMs
    await polls.poll('ml/c', req);
    expect(req.count()).toBe(2);
  });

  it('an answer is not taken by a follower whose own last verdict is as recent', async () => {
    const { polls, clock } = setup();
    const req = ask(async () => version('3'));
    const first = await polls.poll('ml/a', req);
    clock.ms += 1000;
    await polls.poll('ml/b', { ...req, notBeforeMs: (first as { atMs: number }).atMs });
    expect(req.count()).toBe(2);
  });

  it('followers asking while a request is in flight join it: one request for all of them', async () => {
    const { polls } = setup();
    const answer = deferred<ModelVersion>();
    const req = ask(() => answer.promise);
    const polled = ['a', 'b', 'c'].map((k) => polls.poll(`ml/${k}`, req));
    answer.resolve(version('5'));
    for (const outcome of await Promise.all(polled)) expect(outcome).toMatchObject({ kind: 'answer' });
    expect(req.count()).toBe(1);
  });

  it('another question, or the same one with other credentials, gets its own request', async () => {
    const { polls } = setup();
    const a = ask(async () => version('1'));
    const b = ask(async () => version('2'), { question: Q2 });
    await polls.poll('ml/a', a);
    expect(await polls.poll('ml/b', b)).toMatchObject({ version: version('2') });
    expect([a.count(), b.count()]).toEqual([1, 1]);
  });

  it('a requested fresh look asks MLflow even when a recent answer exists', async () => {
    const { polls } = setup();
    const req = ask(async () => version('3'));
    await polls.poll('ml/a', req);
    await polls.poll('ml/b', { ...req, fresh: true });
    expect(req.count()).toBe(2);
  });

  it('a slow answer: pending after the budget, one request only, then it wakes the object and is taken', async () => {
    const { polls, woken, clock } = setup();
    const answer = deferred<ModelVersion>();
    const req = ask(() => answer.promise);
    expect(await polls.poll(KEY, req)).toEqual({ kind: 'pending' });
    expect(polls.has(KEY, Q1, undefined)).toBe(true);
    const started = Date.now();
    expect(await polls.poll(KEY, req)).toEqual({ kind: 'pending' }); // waited for once only
    expect(Date.now() - started).toBeLessThan(15);
    expect(req.count()).toBe(1);

    answer.resolve(version('4'));
    await flushMicrotasks();
    expect(woken).toEqual([KEY]);
    expect(await polls.poll(KEY, req)).toEqual({ kind: 'answer', version: version('4'), atMs: clock.ms });
    expect(polls.has(KEY, Q1, clock.ms)).toBe(false);
    expect(req.count()).toBe(1);
  });

  it('a new version wakes every follower, not only those waiting; they take it without asking again', async () => {
    const { polls, woken, clock } = setup();
    let current = version('1');
    const req = ask(async () => current);
    for (const k of ['a', 'b', 'c']) await polls.poll(`ml/${k}`, req);
    const lastPoll = clock.ms;
    expect(woken).toEqual([]);

    clock.ms += 60_000;
    current = version('2');
    await polls.poll('ml/a', req);
    expect(woken.sort()).toEqual(['ml/b', 'ml/c']); // a had it within its reconcile
    expect(polls.has('ml/b', Q1, lastPoll)).toBe(true);
    expect(await polls.poll('ml/b', req)).toMatchObject({ version: version('2') });
    expect(req.count()).toBe(2);
  });

  it('the same version again wakes nobody', async () => {
    const { polls, woken, clock } = setup();
    const req = ask(async () => version('1'));
    await polls.poll('ml/a', req);
    await polls.poll('ml/b', req);
    clock.ms += 60_000;
    await polls.poll('ml/a', req);
    expect(woken).toEqual([]);
  });

  it('a changed question drops the stale request; its late answer wakes nobody', async () => {
    const { polls, woken, clock } = setup();
    const stale = deferred<ModelVersion>();
    expect(
      await polls.poll(
        KEY,
        ask(() => stale.promise),
      ),
    ).toEqual({ kind: 'pending' });
    expect(polls.has(KEY, Q2, undefined)).toBe(false);
    expect(
      await polls.poll(
        KEY,
        ask(async () => version('9'), { question: Q2 }),
      ),
    ).toEqual({
      kind: 'answer',
      version: version('9'),
      atMs: clock.ms,
    });
    stale.resolve(version('4'));
    await flushMicrotasks();
    expect(woken).toEqual([]);
    expect(polls.has(KEY, Q1, undefined)).toBe(false);
    expect(polls.size).toBe(1); // only Q2 is kept
  });

  it('a forgotten object (deleted) is not woken by its late answer, and nothing of it is kept', async () => {
    const { polls, woken } = setup();
    const late = deferred<ModelVersion>();
    await polls.poll(
      KEY,
      ask(() => late.promise),
    );
    polls.forget(KEY);
    late.resolve(version('4'));
    await flushMicrotasks();
    expect(woken).toEqual([]);
    expect(polls.size).toBe(0);
  });

  it('a server that is down backs off as a whole, then is asked again and wakes every follower', async () => {
    const { polls, woken, clock } = setup();
    let up = false;
    const down = new MlflowError('Unreachable', 'connection refused');
    const req = ask(async () => (up ? version('2') : Promise.reject(down)));
    expect(await polls.poll('ml/a', { ...req, maxAgeMs: 0 })).toMatchObject({ kind: 'failed' });
    clock.ms += 1; // older than maxAgeMs 0, but the server backs off: no request
    expect(await polls.poll('ml/b', { ...req, maxAgeMs: 0 })).toMatchObject({ kind: 'failed', error: down });
    expect(req.count()).toBe(1);

    clock.ms += 2_000; // past the first backoff (1 s + jitter)
    up = true;
    expect(await polls.poll('ml/a', { ...req, maxAgeMs: 0 })).toMatchObject({ kind: 'answer' });
    expect(req.count()).toBe(2);
    expect(woken).toEqual(['ml/b']); // back after an outage: news for every follower
  });

  it('a verdict about the model is shared; garbage from the server is not', async () => {
    const { polls, clock } = setup();
    const verdict = ask(async () => Promise.reject(new MlflowError('AliasNotFound', 'no alias')));
    await polls.poll('ml/a', verdict);
    clock.ms += 1;
    expect(await polls.poll('ml/b', verdict)).toMatchObject({ kind: 'failed' });
    expect(verdict.count()).toBe(1);
    const garbage = ask(async () => Promise.reject(new MlflowError('InvalidResponse', 'not JSON')), {
      question: Q2,
    });
    await polls.poll('ml/c', garbage);
    clock.ms += 1;
    await polls.poll('ml/d', garbage);
    expect(garbage.count()).toBe(2);
  });

  it('a refusal about the model is not an outage: the server is asked again at once', async () => {
    const { polls, clock } = setup();
    const req = ask(async () => Promise.reject(new MlflowError('AliasNotFound', 'no alias')), {
      maxAgeMs: 0,
    });
    await polls.poll('ml/a', req);
    clock.ms += 1;
    await polls.poll('ml/a', req);
    expect(req.count()).toBe(2);
  });

  it('at most perServerLimit requests in flight per server; another server is not held up', async () => {
    const { polls } = setup(2);
    const hang = deferred<ModelVersion>();
    let started = 0;
    const slow = () => {
      started++;
      return hang.promise;
    };
    for (const k of ['a', 'b', 'c'])
      expect(await polls.poll(k, ask(slow, { question: `q-${k}` }))).toEqual({ kind: 'pending' });
    expect(started).toBe(2); // the third waits for a slot
    expect(
      await polls.poll(
        'd',
        ask(async () => version('1'), { server: 'http://other' }),
      ),
    ).toMatchObject({
      kind: 'answer',
    });
    hang.resolve(version('2'));
    await flushMicrotasks();
    expect(started).toBe(3);
  });

  it('counts failures in a row with their retry time, until a verdict', () => {
    const { polls } = setup();
    expect(polls.failureCount(KEY)).toBe(0);
    expect(polls.recordFailure(KEY, 1000)).toBe(1);
    expect(polls.recordFailure(KEY, 3000)).toBe(2);
    expect(polls.retryAt(KEY)).toBe(3000);
    polls.recordVerdict(KEY);
    expect([polls.failureCount(KEY), polls.retryAt(KEY)]).toEqual([0, undefined]);
  });
});
