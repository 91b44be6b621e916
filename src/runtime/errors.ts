// Typed reconcile errors decide how a failure is reported and retried:
//   Stalling:  the user must act (fix the spec, a Secret, the registry); no fast retry.
//   Transient: something outside failed; retry with exponential backoff, showing `reason`.
//   anything else: unexpected; retried with backoff like Transient, under a generic reason.
// Waiting on something that is not ready yet is not an error: steps return it as a result.
// Reasons are PascalCase because they become condition and Event reasons; messages say what
// happened and what to do, and never carry a secret.
import { apiErrorText } from './kubeErrors.js';

export class Stalling extends Error {
  override readonly name = 'Stalling';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export class Transient extends Error {
  override readonly name = 'Transient';
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The reason a typed error carries; undefined for any other error. */
export function reasonOf(err: unknown): string | undefined {
  return err instanceof Stalling || err instanceof Transient ? err.reason : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- messages people read: short, deterministic, free of secrets ----

/** Longest message the operator writes into a condition, the history or an Event. */
export const MAX_MESSAGE_LENGTH = 1024;

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function boundMessage(text: string, max = MAX_MESSAGE_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** How long a failure message with a log tail may be: the rest of MAX_MESSAGE_LENGTH is left for
 * what is said after it (a rollback, how to retry), which must not push the log's end out. */
export const FAILURE_MESSAGE_LENGTH = MAX_MESSAGE_LENGTH - 320;

/** `head`, then as much of the end of `log` as fits in `max`. A failed program says why last
 * (pytest's summary, Kaniko's error), and a termination message is the tail of its log, so the
 * end is the part a reader needs. */
export function withLogTail(head: string, log: string | undefined, max = FAILURE_MESSAGE_LENGTH): string {
  const text = log?.trim();
  const room = max - head.length - 2;
  if (!text || room < 80) return boundMessage(head, max);
  return `${head}: ${text.length <= room ? text : `…${text.slice(text.length - room + 1).trimStart()}`}`;
}

// Node and undici error codes in words: the code alone says little to a reader.
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection reset',
  UND_ERR_CLOSED: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE: 'response too large',
};

type CodedError = { code?: unknown; name?: string; message?: string; cause?: unknown; errors?: unknown[] };

/** The words for a network failure (its code, or its cause's), or undefined if it is none. */
export function networkFailureWords(err: unknown): string | undefined {
  const e = err as CodedError | null | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && NETWORK_WORDS[code]) return NETWORK_WORDS[code];
  // undici's fetch and AggregateError (happy eyeballs) keep the real failure inside.
  for (const inner of [e?.cause, ...(Array.isArray(e?.errors) ? e.errors : [])]) {
    if (inner && inner !== err) {
      const words = networkFailureWords(inner);
      if (words) return words;
    }
  }
  return undefined;
}

/** Short, deterministic text for any error: typed errors keep their message; an apiserver
 * answer becomes "<code> <its message>" (no headers, no request ids); an AWS error its name and
 * message; a network failure words. Secrets the process holds are redacted. */
export function describeError(err: unknown): string {
  return redactSecrets(rawDescription(err));
}

function rawDescription(err: unknown): string {
  if (err instanceof Stalling || err instanceof Transient) return err.message;
  const api = apiErrorText(err);
  if (api !== undefined) return api;
  const e = err as CodedError & { $metadata?: unknown };
  if (e && typeof e === 'object' && e.$metadata && e.name) {
    return e.message && e.message !== e.name ? `${e.name}: ${e.message}` : e.name;
  }
  const words = networkFailureWords(err);
  if (words) return words;
  return messageOf(err);
}

// ---- credentials the process holds, never to be written anywhere ----

const MAX_REMEMBERED_SECRETS = 1000;
const MIN_SECRET_LENGTH = 4; // shorter values would redact ordinary words
const secretValues = new Set<string>();

/** Remembers credential values so redactSecrets() removes them from every message. */
export function rememberSecrets(...values: string[]): void {
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH || secretValues.has(value)) continue;
    if (secretValues.size >= MAX_REMEMBERED_SECRETS) {
      const oldest = secretValues.values().next().value;
      if (oldest !== undefined) secretValues.delete(oldest);
    }
    secretValues.add(value);
  }
}

// The value of an Authorization header and a Basic/Bearer credential, wherever they appear.
const AUTH_HEADER = /\b((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)[^\r\n"',;}]+/gi;
// A credential has a digit or a base64 sign in it, unlike "Basic authentication".
const AUTH_SCHEME = /\b(Basic|Bearer)(\s+)(?=[A-Za-z._~-]*[0-9+/=])[A-Za-z0-9._~+/=-]{6,}/g;
export const REDACTED = '[redacted]';

/** `text` without any remembered credential value and without Authorization header values. */
export function redactSecrets(text: string, extra: readonly string[] = []): string {
  let out = text;
  const values = [...extra.filter((v) => v.length >= MIN_SECRET_LENGTH), ...secretValues];
  // Longest first, so "user:password" goes before "password" leaves "user:" behind.
  for (const value of values.sort((a, b) => b.length - a.length)) {
    if (out.includes(value)) out = out.replaceAll(value, REDACTED);
  }
  return out.replace(AUTH_HEADER, `$1$2${REDACTED}`).replace(AUTH_SCHEME, `$1$2${REDACTED}`);
}

/** A message ready to be written where people read it: redacted, then bounded. */
export function cleanMessage(text: string, max = MAX_MESSAGE_LENGTH): string {
  return boundMessage(redactSecrets(text), max);
}
