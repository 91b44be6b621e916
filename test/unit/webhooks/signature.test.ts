import { describe, expect, it } from '@jest/globals';
import { signDelivery, verifyDelivery, type VerifyResult } from '../../../src/webhooks/signature.js';
import { NOW_MS, NOW_S, PYTHON_VECTOR, SECRET, signedHeaders } from './fixtures.js';

const body = Buffer.from(PYTHON_VECTOR.body, 'utf8');
const ID = PYTHON_VECTOR.deliveryId;
const headers = signedHeaders(body, { deliveryId: ID, timestampS: NOW_S });
const verify = (
  h: Record<string, string | string[] | undefined>,
  raw = body,
  secrets = [SECRET],
  now = NOW_MS,
) => verifyDelivery(raw, h, secrets, now);
const refused = (reason: string): VerifyResult => ({ ok: false, reason }) as VerifyResult;

describe('verifyDelivery', () => {
  it('matches the signature Python computes for MLflow', () => {
    const { secret, deliveryId, timestamp, signature } = PYTHON_VECTOR;
    expect(signDelivery(secret, deliveryId, timestamp, body)).toBe(signature);
    const mlflowHeaders = {
      'x-mlflow-signature': signature,
      'x-mlflow-delivery-id': deliveryId,
      'x-mlflow-timestamp': timestamp,
    };
    expect(verify(mlflowHeaders)).toEqual({ ok: true, deliveryId, timestampS: NOW_S });
  });

  it.each([
    ['a wrong secret', { ...headers }, body, ['not-the-secret']],
    ['a body changed by one byte', headers, Buffer.from(PYTHON_VECTOR.body.replace('"3"', '"4"')), [SECRET]],
    [
      'a body re-serialised without spaces',
      headers,
      Buffer.from(JSON.stringify(JSON.parse(PYTHON_VECTOR.body))),
      [SECRET],
    ],
    [
      'another delivery id',
      { ...headers, 'x-mlflow-delivery-id': 'a9b8c7d6-0000-4000-8000-000000000000' },
      body,
      [SECRET],
    ],
    ['another timestamp', { ...headers, 'x-mlflow-timestamp': String(NOW_S - 1) }, body, [SECRET]],
    [
      'a signature of another scheme',
      { ...headers, 'x-mlflow-signature': headers['x-mlflow-signature']?.replace('v1,', 'v1,A') },
      body,
      [SECRET],
    ],
    [
      'a truncated signature',
      { ...headers, 'x-mlflow-signature': headers['x-mlflow-signature']?.slice(0, -2) },
      body,
      [SECRET],
    ],
  ])('refuses %s as bad-signature', (_what, h, raw, secrets) => {
    expect(verify(h, raw, secrets)).toEqual(refused('bad-signature'));
  });

  it('accepts a delivery signed with any of the rotated secrets, and none of the others', () => {
    const signedWithOld = signedHeaders(body, { secret: 'old-secret', timestampS: NOW_S });
    expect(verify(signedWithOld, body, ['new-secret', 'old-secret'])).toMatchObject({ ok: true });
    expect(verify(signedWithOld, body, ['new-secret', 'newer-secret'])).toEqual(refused('bad-signature'));
  });

  it('refuses everything when no secret is configured', () => {
    expect(verify(headers, body, [])).toEqual(refused('no-secret'));
    expect(verify(headers, body, [''])).toEqual(refused('no-secret'));
  });

  it('takes a delivery up to the window old and up to the skew early', () => {
    const window = 5 * 60_000;
    expect(verify(headers, body, [SECRET], NOW_MS + window)).toMatchObject({ ok: true });
    expect(verify(headers, body, [SECRET], NOW_MS + window + 1)).toEqual(refused('stale'));
    expect(verify(headers, body, [SECRET], NOW_MS - 30_000)).toMatchObject({ ok: true });
    expect(verify(headers, body, [SECRET], NOW_MS - 30_001)).toEqual(refused('future'));
  });

  it('honours a custom window and skew', () => {
    expect(verifyDelivery(body, headers, [SECRET], NOW_MS + 60_001, 60_000, 0)).toEqual(refused('stale'));
    expect(verifyDelivery(body, headers, [SECRET], NOW_MS - 1, 60_000, 0)).toEqual(refused('future'));
  });

  it('judges the timestamp by the signed header, so an old replay stays stale whatever else changes', () => {
    const old = signedHeaders(body, { timestampS: NOW_S - 3600 });
    expect(verify(old)).toEqual(refused('stale'));
  });

  it.each(['x-mlflow-signature', 'x-mlflow-delivery-id', 'x-mlflow-timestamp'])(
    'refuses a delivery without %s',
    (name) => {
      expect(verify({ ...headers, [name]: undefined })).toEqual(refused('missing-headers'));
      expect(verify({ ...headers, [name]: '' })).toEqual(refused('missing-headers'));
    },
  );

  it.each(['x-mlflow-signature', 'x-mlflow-delivery-id', 'x-mlflow-timestamp'])(
    'refuses %s sent twice',
    (name) => {
      const value = headers[name] as string;
      expect(verify({ ...headers, [name]: [value, value] })).toEqual(refused('repeated-header'));
      expect(verify({ ...headers, [name]: [value] })).toMatchObject({ ok: true }); // headersDistinct form
    },
  );

  it.each([
    ['x-mlflow-signature', 'R+fyYhD3/LNDo0OkgF71sl78znGoljg/thJ7ot339So='],
    ['x-mlflow-signature', 'v2,R+fyYhD3/LNDo0OkgF71sl78znGoljg/thJ7ot339So='],
    ['x-mlflow-timestamp', '1796040000.5'],
    ['x-mlflow-timestamp', '-1796040000'],
    ['x-mlflow-timestamp', '1e9'],
    ['x-mlflow-delivery-id', 'id with spaces'],
    ['x-mlflow-delivery-id', 'x'.repeat(129)],
  ])('refuses %s %j as malformed', (name, value) => {
    expect(verify({ ...headers, [name]: value })).toEqual(refused('malformed-headers'));
  });
});
