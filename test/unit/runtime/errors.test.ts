import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import {
  MAX_MESSAGE_LENGTH,
  Stalling,
  Transient,
  boundMessage,
  cleanMessage,
  describeError,
  networkFailureWords,
  redactSecrets,
  rememberSecrets,
  withLogTail,
  FAILURE_MESSAGE_LENGTH,
} from '../../../src/runtime/errors.js';

const status = (message: string) => JSON.stringify({ kind: 'Status', code: 422, message, reason: 'Invalid' });

describe('boundMessage', () => {
  it.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['eleven chars', 10, 'eleven ch…'],
  ])('%j at %i → %j', (text, max, out) => {
    expect(boundMessage(text, max)).toBe(out);
  });

  it('keeps every message within MAX_MESSAGE_LENGTH by default', () => {
    expect(boundMessage('x'.repeat(40_000))).toHaveLength(MAX_MESSAGE_LENGTH);
  });
});

describe('withLogTail: the end of a log is what says why', () => {
  const head = 'test Job "t" failed (BackoffLimitExceeded)';
  // What pytest prints last: the failures, then the counts.
  const pytest = [
    ...Array.from({ length: 60 }, (_, i) => `api/test_predict.py::test_boundary[${i}] PASSED`),
    'FAILED api/test_predict.py::test_valid_prediction - assert 500 == 200',
    '========== 1 failed, 60 passed in 1.93s ==========',
  ].join('\n');

  it('keeps the summary at the end of a long log, leaving room for what is said after it', () => {
    const message = withLogTail(head, pytest);
    expect(message.length).toBeLessThanOrEqual(FAILURE_MESSAGE_LENGTH);
    expect(FAILURE_MESSAGE_LENGTH + 300).toBeLessThan(MAX_MESSAGE_LENGTH);
    expect(message.startsWith(`${head}: …`)).toBe(true);
    expect(message).toContain('FAILED api/test_predict.py::test_valid_prediction - assert 500 == 200');
    expect(message.endsWith('1 failed, 60 passed in 1.93s ==========')).toBe(true);
  });

  it.each([
    ['a short log whole', 'boom\n', `${head}: boom`],
    ['no log', undefined, head],
    ['a blank log', '  \n', head],
  ])('%s', (_, log, out) => {
    expect(withLogTail(head, log)).toBe(out);
  });

  it('bounds a head that leaves no room for the log', () => {
    expect(withLogTail('h'.repeat(2000), 'log')).toHaveLength(FAILURE_MESSAGE_LENGTH);
  });
});

describe('describeError: short deterministic text', () => {
  const headers = {
    date: 'Tue, 01 Dec 2026 02:41:50 GMT',
    'audit-id': 'a7f3c2d1',
    'content-type': 'application/json',
  };

  it.each<[string, unknown, string]>([
    ['a typed error keeps its message', new Transient('R', 'MLflow answered 500'), 'MLflow answered 500'],
    ['a Stalling keeps its message', new Stalling('R', 'fix it'), 'fix it'],
    [
      'an apiserver answer is its code and Status message, no headers',
      new ApiException(422, 'Unprocessable', status('Job.batch "x" is invalid'), headers),
      '422 Job.batch "x" is invalid',
    ],
    [
      'an apiserver answer without a Status body',
      new ApiException(502, 'Bad Gateway', '<html>', headers),
      '502 HTTP 502',
    ],
    [
      'an AWS SDK error is its name and message',
      Object.assign(new Error('Project cannot be found'), {
        name: 'ResourceNotFoundException',
        $metadata: {},
      }),
      'ResourceNotFoundException: Project cannot be found',
    ],
    [
      'ECONNREFUSED in words',
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5000'), { code: 'ECONNREFUSED' }),
      'connection refused',
    ],
    [
      'ENOTFOUND in words',
      Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }),
      'host not found',
    ],
    [
      'ECONNRESET in words',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'connection reset',
    ],
    ['a timeout in words', Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'timed out'],
    [
      "undici's fetch failure by its cause",
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
      }),
      'timed out connecting',
    ],
    ['anything else: its message', new Error('boom'), 'boom'],
    ['not an Error', 'plain', 'plain'],
  ])('%s', (_, err, text) => {
    expect(describeError(err)).toBe(text);
  });

  it('is the same for the same refusal whatever the headers say', () => {
    const a = new ApiException(422, 'm', status('same'), { ...headers, 'audit-id': '1' });
    const b = new ApiException(422, 'm', status('same'), { ...headers, 'audit-id': '2' });
    expect(describeError(a)).toBe(describeError(b));
  });

  it('no words for an error that is not a network failure', () => {
    expect(networkFailureWords(new Error('x'))).toBeUndefined();
  });
});

describe('redactSecrets', () => {
  it('removes remembered values, longest first', () => {
    rememberSecrets('s3cret-pass', 'alice:s3cret-pass');
    expect(redactSecrets('you sent alice:s3cret-pass and s3cret-pass')).toBe(
      'you sent [redacted] and [redacted]',
    );
  });

  it('removes values passed along, and ignores values too short to be secrets', () => {
    expect(redactSecrets('token tok-123 and ab', ['tok-123', 'ab'])).toBe('token [redacted] and ab');
  });

  it.each([
    ['authorization: Basic YWxpY2U6cGFzcw==\nhost: x', 'authorization: [redacted]\nhost: x'],
    ['{"Authorization":"Bearer abc.def"}', '{"Authorization":"[redacted]"}'],
    ['Proxy-Authorization=Basic Zm9v', 'Proxy-Authorization=[redacted]'],
    ['sent Bearer eyJhbGciOi9.x then', 'sent Bearer [redacted] then'],
    ['use Basic authentication', 'use Basic authentication'],
  ])('%j → %j', (text, out) => {
    expect(redactSecrets(text)).toBe(out);
  });

  it('cleanMessage redacts before it bounds, so a cut never leaves half a secret', () => {
    rememberSecrets('0123456789-secret');
    const text = `${'x'.repeat(15)}0123456789-secret`;
    expect(cleanMessage(text, 20)).toBe(`${'x'.repeat(15)}[red…`);
  });
});
