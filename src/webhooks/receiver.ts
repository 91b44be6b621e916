// Receives MLflow registry webhooks on POST /webhooks/<source>, one <source> per configured MLflow
// server, and hands each verified, new registry event to `onEvent` (which only enqueues work).
// Polling stays the source of truth; a webhook only makes the operator look sooner, so anything
// doubtful is refused and left to the next poll.
//   - Nothing is believed before the signature is: the body is read (bounded, refused with 413 as
//     soon as it is too large) and verified against the source's secrets before it is parsed.
//   - Secrets and the TLS certificate live in files (Kubernetes Secret volumes, rotated by
//     cert-manager or by hand): secret files are stat'ed on each delivery and the certificate on
//     an interval, and re-read when they changed. Secrets are never logged or echoed.
//   - A delivery id is acted on once; MLflow retries a delivery with the same id after a 5xx, so
//     an id is remembered only once its event was handed over.
import { readFile, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { boundMessage, messageOf, rememberSecrets } from '../runtime/errors.js';
import { DEFAULT_MAX_DELIVERIES, RecentDeliveries } from './deliveries.js';
import { parseEvent, PayloadError, type RegistryEvent } from './payload.js';
import {
  DEFAULT_FUTURE_SKEW_MS,
  DEFAULT_WINDOW_MS,
  verifyDelivery,
  type VerifyFailure,
} from './signature.js';

export const WEBHOOK_PATH_PREFIX = '/webhooks/';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;
export const DEFAULT_MAX_CONNECTIONS = 256;

/** What became of a request, for a metric labelled by source and outcome. */
export type Outcome =
  | 'accepted' // a registry event handed to onEvent
  | 'ignored' // verified, but not a registry event (prompts, …)
  | 'duplicate' // a delivery id already acted on
  | 'unauthorized' // signature, delivery id or timestamp refused
  | 'too-large'
  | 'bad-request' // verified, but not a webhook body we understand
  | 'not-found' // no such source (reported with source '')
  | 'method-not-allowed'
  | 'unsupported-media-type'
  | 'unavailable' // the source has no readable secret
  | 'standby' // verified, but this replica does not lead: MLflow retries, maybe on the leader
  | 'aborted' // the client went away (or timed out) before sending the whole body
  | 'error'; // onEvent threw

/** A source's name is a path segment and a metric label: a DNS label keeps it safe as both. */
const SOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface WebhookSource {
  /** The <source> in POST /webhooks/<source>. */
  name: string;
  /** Files holding the webhook secret(s), one a line; a delivery signed with any of them is good. */
  secretFiles: readonly string[];
}

export interface WebhookReceiverOptions {
  /** Address to listen on; 0.0.0.0 by default. */
  host?: string;
  /** Port to listen on; 0 picks a free one (see `port` after start()). */
  port: number;
  sources: readonly WebhookSource[];
  /** Serve HTTPS with this certificate and key (PEM files); both are re-read when they change. */
  tls?: { certFile: string; keyFile: string; reloadIntervalMs?: number };
  maxBodyBytes?: number;
  /** How old a delivery's timestamp may be. */
  replayWindowMs?: number;
  /** How far ahead of our clock a delivery's timestamp may be. */
  futureSkewMs?: number;
  maxRememberedDeliveries?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxConnections?: number;
  /** True while this replica only stands by (another leads): deliveries get a 503 to retry,
   * on a new connection that the Service may send to the leader. */
  standby?: () => boolean;
  /** Called once per new verified registry event, before the 200 is sent; must be quick. */
  onEvent(source: string, event: RegistryEvent, deliveryId: string): void;
  observe?(source: string, outcome: Outcome): void;
  log: Logger;
  /** Wall clock in milliseconds, for the timestamp window. */
  now?: () => number;
}

export class WebhookConfigError extends Error {
  override readonly name = 'WebhookConfigError';
}

export class WebhookReceiver {
  private readonly sources = new Map<string, SecretFiles>();
  private readonly deliveries: RecentDeliveries;
  private readonly sockets = new Set<Socket>();
  private readonly log: Logger;
  private readonly maxBodyBytes: number;
  private readonly windowMs: number;
  private readonly skewMs: number;
  private readonly now: () => number;
  private server: ReturnType<typeof createHttpServer> | HttpsServer | undefined;
  private tlsStamp = '';
  private tlsProblem = '';
  private tlsCheck: Promise<boolean> | undefined;
  private tlsTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: WebhookReceiverOptions) {
    this.log = o.log;
    if (o.sources.length === 0) throw new WebhookConfigError('no webhook sources configured');
    for (const source of o.sources) {
      if (!SOURCE_NAME.test(source.name))
        throw new WebhookConfigError(
          `webhook source name "${source.name}" must be a DNS label (lower-case letters, digits and "-")`,
        );
      if (this.sources.has(source.name))
        throw new WebhookConfigError(`webhook source "${source.name}" is configured twice`);
      if (source.secretFiles.length === 0)
        throw new WebhookConfigError(`webhook source "${source.name}" has no secret file`);
      this.sources.set(source.name, new SecretFiles(source.name, source.secretFiles, this.log));
    }
    this.maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.windowMs = o.replayWindowMs ?? DEFAULT_WINDOW_MS;
    this.skewMs = o.futureSkewMs ?? DEFAULT_FUTURE_SKEW_MS;
    this.now = o.now ?? Date.now;
    // A delivery stays valid from (timestamp - skew) to (timestamp + window): remember it that long.
    this.deliveries = new RecentDeliveries({
      ttlMs: this.windowMs + this.skewMs,
      maxEntries: o.maxRememberedDeliveries ?? DEFAULT_MAX_DELIVERIES,
    });
  }

  /** Reads every source's secrets and the certificate, then listens; throws if any is unusable. */
  async start(): Promise<void> {
    if (this.server) throw new Error('webhook receiver already started');
    for (const [name, files] of this.sources) {
      if ((await files.current()).length === 0)
        throw new WebhookConfigError(
          `webhook source "${name}" has no readable secret in ${files.paths.join(', ')}`,
        );
    }
    const headersTimeout = this.o.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    const requestTimeout = this.o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    // Node checks these timeouts every connectionsCheckingInterval (30 s by default): check often.
    const http = {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: headersTimeout,
      connectionsCheckingInterval: 1_000,
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.serve(req, res, false);
    let server;
    if (this.o.tls) {
      const { certFile, keyFile } = this.o.tls;
      try {
        const { cert, key, stamp } = await readTlsFiles(certFile, keyFile);
        server = createHttpsServer({ ...http, cert, key, handshakeTimeout: headersTimeout }, handler);
        this.tlsStamp = stamp;
      } catch (err) {
        throw new WebhookConfigError(
          `cannot serve TLS with certificate ${certFile} and key ${keyFile}: ${messageOf(err)}`,
        );
      }
    } else {
      server = createHttpServer(http, handler);
    }
    // Without this, node would answer "100 Continue" before we could refuse the body.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.serve(req, res, true));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.setTimeout(requestTimeout); // an idle connection is closed (a TLS handshake has its own timeout)
    server.maxConnections = this.o.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ error: messageOf(err) }, 'Webhook server failed'));
    this.server = server;
    if (this.o.tls) {
      const every = this.o.tls.reloadIntervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS;
      this.tlsTimer = setInterval(() => void this.reloadTls(), every).unref();
    }
    this.log.info({ address: this.address(), sources: [...this.sources.keys()] }, 'Started webhook receiver');
  }

  /** Stops listening and closes every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    clearInterval(this.tlsTimer);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.tlsCheck;
    this.log.info('Stopped webhook receiver');
  }

  address(): AddressInfo {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('webhook receiver is not listening');
    return address;
  }

  get port(): number {
    return this.address().port;
  }

  /**
   * Installs the certificate and key again if either file changed; new connections get them.
   * False when nothing changed or the files cannot be used (the current certificate stays).
   */
  async reloadTls(): Promise<boolean> {
    this.tlsCheck ??= this.checkTls().finally(() => (this.tlsCheck = undefined));
    return this.tlsCheck;
  }

  private async checkTls(): Promise<boolean> {
    const tls = this.o.tls;
    const server = this.server as HttpsServer | undefined;
    if (!tls || !server) return false;
    try {
      if ((await stampOf([tls.certFile, tls.keyFile])) === this.tlsStamp) return false;
      const { cert, key, stamp } = await readTlsFiles(tls.certFile, tls.keyFile);
      server.setSecureContext({ cert, key }); // throws when the key does not match the certificate
      this.tlsStamp = stamp;
      this.tlsProblem = '';
      this.log.info({ certFile: tls.certFile }, 'Reloaded TLS certificate');
      return true;
    } catch (err) {
      // Half-written files (a key newer than its certificate) are retried on the next check.
      const problem = messageOf(err);
      if (problem !== this.tlsProblem)
        this.log.warn(
          { certFile: tls.certFile, error: problem },
          'Failed to reload TLS certificate; kept the current one',
        );
      this.tlsProblem = problem;
      return false;
    }
  }

  private serve(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const name = sourceNameOf(req.url);
    const files = name === undefined ? undefined : this.sources.get(name);
    const answering = files
      ? this.answer(files, req, res, expectsContinue)
      : Promise.resolve(refuse('not-found', 404, 'not found'));
    answering
      .catch((err: unknown): Answer => {
        this.log.error({ source: name, error: messageOf(err) }, 'Failed to handle webhook request');
        return refuse('error', 500, 'internal error');
      })
      .then(({ outcome, status, body, headers }) => {
        this.o.observe?.(files?.source ?? '', outcome);
        if (status) send(req, res, status, body, headers);
      });
  }

  /** The steps of a delivery, each of which may end it: admit, read, verify, de-duplicate, parse, hand over. */
  private async answer(
    files: SecretFiles,
    req: IncomingMessage,
    res: ServerResponse,
    expectsContinue: boolean,
  ): Promise<Answer> {
    const source = files.source;
    if (req.method !== 'POST')
      return refuse('method-not-allowed', 405, 'only POST is allowed', { allow: 'POST' });
    if (!isJson(req.headers['content-type']))
      return refuse('unsupported-media-type', 415, 'content-type must be application/json');
    const tooLarge = refuse('too-large', 413, `body larger than ${this.maxBodyBytes} bytes`);
    if (Number(req.headers['content-length'] ?? 0) > this.maxBodyBytes) return tooLarge;

    if (expectsContinue) res.writeContinue();
    const body = await readBody(req, this.maxBodyBytes);
    if (body.kind === 'too-large') return tooLarge;
    if (body.kind === 'aborted') return { outcome: 'aborted', body: {} }; // nobody left to answer

    const secrets = await files.current();
    if (secrets.length === 0) return refuse('unavailable', 503, 'webhook secret unavailable');
    const verified = verifyDelivery(
      body.raw,
      req.headersDistinct,
      secrets,
      this.now(),
      this.windowMs,
      this.skewMs,
    );
    if (!verified.ok) {
      const { reason } = verified;
      this.log.warn({ source, reason, remote: req.socket.remoteAddress }, 'Refused webhook delivery');
      return refuse('unauthorized', 401, REFUSALS[reason]);
    }
    const { deliveryId } = verified;
    const key = `${source}/${deliveryId}`;
    // From here to deliveries.add() nothing awaits, so the same delivery sent twice at once is
    // still handed over once.
    if (this.deliveries.has(key)) return { outcome: 'duplicate', status: 200, body: { duplicate: true } };
    if (this.o.standby?.())
      return refuse('standby', 503, 'this replica is not the leader; retry', {
        'retry-after': '1',
        connection: 'close',
      });

    let event;
    try {
      event = parseEvent(body.raw);
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      this.log.warn({ source, deliveryId, reason: err.reason, error: err.message }, 'Refused webhook body');
      return refuse('bad-request', 400, boundMessage(err.message, 500));
    }
    if (event.kind === 'ignored') {
      this.deliveries.add(key);
      this.log.debug(
        { source, deliveryId, entity: event.entity, action: event.action },
        'Ignored webhook event',
      );
      return { outcome: 'ignored', status: 200, body: { ignored: true } };
    }
    try {
      this.o.onEvent(source, event, deliveryId);
    } catch (err) {
      this.log.error({ source, deliveryId, error: messageOf(err) }, 'Failed to hand over webhook event');
      return refuse('error', 500, 'internal error'); // not remembered: MLflow's retry is taken
    }
    this.deliveries.add(key);
    this.log.debug({ source, deliveryId, ...event }, 'Accepted webhook event');
    return { outcome: 'accepted', status: 200, body: { accepted: true } };
  }
}

/** How a request ends: its outcome, and the answer to send (none when the client is gone). */
interface Answer {
  outcome: Outcome;
  status?: number;
  body: object;
  headers?: Record<string, string>;
}

function refuse(outcome: Outcome, status: number, error: string, headers?: Record<string, string>): Answer {
  return { outcome, status, body: { error }, ...(headers && { headers }) };
}

// What a refused sender is told: enough to fix a clock or a secret, nothing about the expected value.
const REFUSALS: Record<VerifyFailure, string> = {
  'missing-headers': 'signature verification failed',
  'repeated-header': 'signature verification failed',
  'malformed-headers': 'signature verification failed',
  'no-secret': 'signature verification failed',
  'bad-signature': 'signature verification failed',
  stale: 'stale timestamp',
  future: 'timestamp in the future',
};

/** The <source> of "/webhooks/<source>" (query ignored), or undefined for any other path. */
export function sourceNameOf(url: string | undefined): string | undefined {
  const path = (url ?? '').split('?', 1)[0] as string;
  if (!path.startsWith(WEBHOOK_PATH_PREFIX)) return undefined;
  const name = path.slice(WEBHOOK_PATH_PREFIX.length);
  return SOURCE_NAME.test(name) ? name : undefined;
}

/** application/json, with or without parameters such as charset. */
export function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

type Body = { kind: 'complete'; raw: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

/** The request body, or 'too-large' as soon as more than `maxBytes` arrived (the rest is not kept). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (body: Body) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else finish({ kind: 'too-large' }); // still flowing: what follows is dropped, not buffered
    };
    const onEnd = () => finish({ kind: 'complete', raw: Buffer.concat(chunks, size) });
    const onClose = () => finish({ kind: 'aborted' });
    req.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  // Answered before the body was read: close rather than read the rest to reuse the connection.
  if (!req.complete) headers = { ...headers, connection: 'close' };
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A source's secret files, re-read when one changes (a Secret volume swaps files atomically). */
class SecretFiles {
  private readonly files: { path: string; stamp: string; secrets: string[]; problem: string }[];

  constructor(
    readonly source: string,
    readonly paths: readonly string[],
    private readonly log: Logger,
  ) {
    this.files = paths.map((path) => ({ path, stamp: '', secrets: [], problem: '' }));
  }

  /** The secrets in every readable file; an unreadable file contributes none (fail closed). */
  async current(): Promise<string[]> {
    const all = await Promise.all(this.files.map((file) => this.read(file)));
    return all.flat();
  }

  private async read(file: SecretFiles['files'][number]): Promise<string[]> {
    try {
      const stamp = await stampOf([file.path]);
      if (stamp !== file.stamp) {
        const text = await readFile(file.path, 'utf8');
        file.secrets = text
          .split(/\r?\n/)
          .map((line) => line.trim())
          .filter(Boolean);
        rememberSecrets(...file.secrets);
        file.stamp = stamp;
        this.log.info(
          { source: this.source, file: file.path, secrets: file.secrets.length },
          'Read webhook secrets',
        );
      }
      file.problem = '';
      return file.secrets;
    } catch (err) {
      const problem = (err as { code?: string }).code ?? messageOf(err);
      if (problem !== file.problem)
        this.log.warn(
          { source: this.source, file: file.path, error: problem },
          'Failed to read webhook secret file',
        );
      Object.assign(file, { stamp: '', secrets: [], problem });
      return [];
    }
  }
}

/** Changes whenever one of the files is replaced or rewritten. */
async function stampOf(paths: readonly string[]): Promise<string> {
  const stats = await Promise.all(paths.map((path) => stat(path)));
  return stats.map((s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`).join('|');
}

async function readTlsFiles(
  certFile: string,
  keyFile: string,
): Promise<{ cert: Buffer; key: Buffer; stamp: string }> {
  const stamp = await stampOf([certFile, keyFile]);
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  return { cert, key, stamp };
}
