// The poll cache: a request waited for a short budget, then left in flight; its answer wakes the
// object once and is taken by the next reconcile, unless the question changed meanwhile.
import { describe, expect, it } from '@jest/globals';
import type { ModelVersion } from '../../../src/clients/mlflow.js';
import { RegistryPolls } from '../../../src/controller/registryPolls.js';
import { deferred, flushMicrotasks } from '../helpers/async.js';
import { version } from '../helpers/reconcilerFakes.js';

const KEY = 'ml/churn';
const Q1 = '["http://mlflow","alias:champion"]';
const Q2 = '["http://mlflow","alias:challenger"]';
const SERVER = 'http://mlflow';

function setup(perServerLimit = 4) {
  const woken: string[] = [];
  const polls = new RegistryPolls({ budgetMs: 20, perServerLimit, wake: (k) => woken.push(k) });
  return { polls, woken };
}

describe('RegistryPolls', () => {
  it('an answer within the budget is handed over at once; nothing is woken or kept', async () => {
    const { polls, woken } = setup();
    expect(await polls.poll(KEY, Q1, SERVER, async () => version('3'))).toEqual({
      kind: 'answer',
      version: version('3'),
    });
    expect(polls.has(KEY, Q1)).toBe(false);
    expect(woken).toEqual([]);
  });

  it('a failure within the budget is handed over as such', async () => {
    const { polls } = setup();
    const err = new Error('refused');
    expect(await polls.poll(KEY, Q1, SERVER, async () => Promise.reject(err))).toEqual({
      kind: 'failed',
      error: err,
    });
  });

  it('a slow answer: pending after the budget, one request only, then it wakes the object and is taken', async () => {
    const { polls, woken } = setup();
    const answer = deferred<ModelVersion>();
    let asked = 0;
    const ask = () => {
      asked++;
      return answer.promise;
    };
    expect(await polls.poll(KEY, Q1, SERVER, ask)).toEqual({ kind: 'pending' });
    expect(polls.has(KEY, Q1)).toBe(true);
    const started = Date.now();
    expect(await polls.poll(KEY, Q1, SERVER, ask)).toEqual({ kind: 'pending' }); // not waited for again
    expect(Date.now() - started).toBeLessThan(15);
    expect(asked).toBe(1);

    answer.resolve(version('4'));
    await flushMicrotasks();
    expect(woken).toEqual([KEY]);
    expect(await polls.poll(KEY, Q1, SERVER, ask)).toEqual({ kind: 'answer', version: version('4') });
    expect(polls.has(KEY, Q1)).toBe(false);
    expect(asked).toBe(1);
  });

  it('a changed question starts a new request; the stale answer is dropped and wakes nobody', async () => {
    const { polls, woken } = setup();
    const stale = deferred<ModelVersion>();
    expect(await polls.poll(KEY, Q1, SERVER, () => stale.promise)).toEqual({ kind: 'pending' });
    expect(polls.has(KEY, Q2)).toBe(false);
    expect(await polls.poll(KEY, Q2, SERVER, async () => version('9'))).toEqual({
      kind: 'answer',
      version: version('9'),
    });
    stale.resolve(version('4'));
    await flushMicrotasks();
    expect(woken).toEqual([]);
    expect(polls.has(KEY, Q1)).toBe(false);
  });

  it('a forgotten object (deleted) is not woken by its late answer', async () => {
    const { polls, woken } = setup();
    const late = deferred<ModelVersion>();
    await polls.poll(KEY, Q1, SERVER, () => late.promise);
    polls.forget(KEY);
    late.resolve(version('4'));
    await flushMicrotasks();
    expect(woken).toEqual([]);
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
      expect(await polls.poll(k, Q1, SERVER, slow)).toEqual({ kind: 'pending' });
    expect(started).toBe(2); // the third waits for a slot
    expect(await polls.poll('d', Q1, 'http://other', async () => version('1'))).toMatchObject({
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
