// Verifies an MLflow registry webhook delivery (MLflow >= 3.3). MLflow signs
// "<delivery id>.<timestamp>.<raw body>" with HMAC-SHA256 and sends
//   X-MLflow-Signature: v1,<base64 digest>   X-MLflow-Delivery-Id: <uuid4>   X-MLflow-Timestamp: <unix s>
// The body is checked as received, never re-serialised: MLflow's json.dumps spacing is part of
// what it signed. Pure: the caller passes the clock, so the window is tested without waiting.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-mlflow-signature';
export const DELIVERY_ID_HEADER = 'x-mlflow-delivery-id';
export const TIMESTAMP_HEADER = 'x-mlflow-timestamp';
const SIGNATURE_VERSION = 'v1,';

/** How old a delivery may be: the MLflow docs recommend refusing anything older than 5 minutes. */
export const DEFAULT_WINDOW_MS = 5 * 60_000;
/** How far ahead of our clock a sender's clock may run. */
export const DEFAULT_FUTURE_SKEW_MS = 30_000;

/** Node's IncomingHttpHeaders (lower-case names) or its headersDistinct (every value an array). */
export type DeliveryHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export type VerifyFailure =
  | 'missing-headers' // a signature, delivery id or timestamp header is absent
  | 'repeated-header' // one of them was sent more than once
  | 'malformed-headers' // not "v1,…", a delivery id that is no token, a timestamp that is no integer
  | 'no-secret' // nothing to verify with: refuse rather than accept unsigned deliveries
  | 'bad-signature'
  | 'stale' // older than the window
  | 'future'; // ahead of our clock by more than the allowed skew

export type VerifyResult =
  { ok: true; deliveryId: string; timestampS: number } | { ok: false; reason: VerifyFailure };

// MLflow sends a uuid4; anything token-shaped and short is accepted, so the ids we remember stay small.
const DELIVERY_ID = /^[A-Za-z0-9_-]{1,128}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
const REPEATED = Symbol('repeated');

/**
 * Checks the headers, the timestamp window and the signature against each of `secrets` in turn
 * (more than one while a secret is being rotated). `nowMs` is the receiver's clock.
 */
export function verifyDelivery(
  raw: Buffer,
  headers: DeliveryHeaders,
  secrets: readonly string[],
  nowMs: number,
  windowMs = DEFAULT_WINDOW_MS,
  futureSkewMs = DEFAULT_FUTURE_SKEW_MS,
): VerifyResult {
  const values = [SIGNATURE_HEADER, DELIVERY_ID_HEADER, TIMESTAMP_HEADER].map((name) =>
    single(headers[name]),
  );
  if (values.includes(REPEATED)) return fail('repeated-header');
  const [signature, deliveryId, timestamp] = values as (string | undefined)[];
  if (!signature || !deliveryId || !timestamp) return fail('missing-headers');
  if (!signature.startsWith(SIGNATURE_VERSION) || !DELIVERY_ID.test(deliveryId) || !TIMESTAMP.test(timestamp))
    return fail('malformed-headers');

  const timestampS = Number(timestamp);
  const ageMs = nowMs - timestampS * 1000;
  if (ageMs > windowMs) return fail('stale');
  if (-ageMs > futureSkewMs) return fail('future');

  const usable = secrets.filter((s) => s.length > 0);
  if (usable.length === 0) return fail('no-secret');
  const given = Buffer.from(signature.slice(SIGNATURE_VERSION.length), 'utf8');
  // Every secret is tried even after a match, so the time taken does not say which one matched.
  let matched = false;
  for (const secret of usable) {
    if (sameBytes(given, expectedSignature(secret, deliveryId, timestamp, raw))) matched = true;
  }
  return matched ? { ok: true, deliveryId, timestampS } : fail('bad-signature');
}

/** The base64 digest MLflow sends after "v1," for this delivery and secret. */
export function expectedSignature(
  secret: string,
  deliveryId: string,
  timestamp: string,
  raw: Buffer,
): Buffer {
  const digest = createHmac('sha256', secret).update(`${deliveryId}.${timestamp}.`).update(raw).digest();
  return Buffer.from(digest.toString('base64'), 'utf8');
}

/** The "v1,<base64>" header value for a delivery: what MLflow computes, for senders and tests. */
export function signDelivery(secret: string, deliveryId: string, timestamp: string, raw: Buffer): string {
  return `${SIGNATURE_VERSION}${expectedSignature(secret, deliveryId, timestamp, raw).toString('utf8')}`;
}

function single(value: string | readonly string[] | undefined): string | undefined | typeof REPEATED {
  if (typeof value === 'string' || value === undefined) return value;
  return value.length > 1 ? REPEATED : value[0];
}

// timingSafeEqual throws on different lengths; the length of a base64 SHA-256 digest is public.
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function fail(reason: VerifyFailure): VerifyResult {
  return { ok: false, reason };
}
