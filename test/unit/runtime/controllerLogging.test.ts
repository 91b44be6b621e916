// How the workers log a failed reconcile: a known failure is a warning with its reason and one
// short message; only a bug gets the error level and its stack.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ExponentialBackoff } from '../../../src/runtime/backoff.js';
import { Controller } from '../../../src/runtime/controller.js';
import { Transient, rememberSecrets } from '../../../src/runtime/errors.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';

async function logOf(err: unknown): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
  const queue = new WorkQueue<string>({
    backoff: new ExponentialBackoff({ baseMs: 60_000, maxMs: 60_000, jitter: 0 }),
  });
  const controller = new Controller<string>({
    name: 'test',
    queue,
    reconcile: async () => {
      throw err;
    },
    concurrency: 1,
    log,
  });
  controller.start();
  queue.add('ns/a');
  await jest.advanceTimersByTimeAsync(10);
  await controller.stop();
  const line = lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'Reconcile failed');
  expect(line).toBeDefined();
  return line as Record<string, unknown>;
}

describe('Controller logs a failed reconcile', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('a Transient: warn, reason and message once, no stack, no cause repeated', async () => {
    jest.useFakeTimers();
    const cause = new Error('MLflow answered 503');
    const line = await logOf(new Transient('RegistryUnavailable', 'MLflow answered 503', { cause }));
    expect(line).toMatchObject({
      level: 40,
      reason: 'RegistryUnavailable',
      error: 'MLflow answered 503',
      key: 'ns/a',
    });
    expect(JSON.stringify(line)).not.toMatch(/stack|MLflow answered 503: MLflow answered 503/);
  });

  it('an apiserver error: warn with the code and Status message, no headers', async () => {
    jest.useFakeTimers();
    const body = JSON.stringify({ kind: 'Status', code: 500, message: 'etcdserver: request timed out' });
    const line = await logOf(new ApiException(500, 'x', body, { 'audit-id': 'abc-123' }));
    expect(line).toMatchObject({ level: 40, error: '500 etcdserver: request timed out' });
    expect(JSON.stringify(line)).not.toContain('abc-123');
  });

  it('a bug: error level with its stack, secrets redacted', async () => {
    jest.useFakeTimers();
    rememberSecrets('sekret-in-a-bug-77');
    const line = await logOf(new TypeError('cannot read x of sekret-in-a-bug-77'));
    expect(line.level).toBe(50);
    expect(line).toMatchObject({ errorType: 'TypeError', error: 'cannot read x of [redacted]' });
    expect(line.stack).toMatch(/^\s+at /);
    expect(JSON.stringify(line)).not.toContain('sekret-in-a-bug-77');
  });
});
