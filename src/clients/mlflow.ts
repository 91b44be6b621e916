// MLflow Model Registry client over undici. Only what the operator needs: the version behind an
// alias and the latest version in a stage, and the write-back of what it deployed (version tags,
// an alias). Every response is validated with zod, and every
// failure becomes an MlflowError whose `kind` tells the caller whether the user must act.
// Registry quirks handled here (MLflow 3.x):
//   - a missing alias is 400 INVALID_PARAMETER_VALUE "Registered model alias X not found.", not 404;
//   - an empty stage answers `{}` (empty fields are omitted), not an empty list;
//   - versions are strings; only READY versions may be deployed.
// A server or proxy may echo the request headers in an error body: every message this client
// builds has the credentials it holds (and any Authorization value) redacted.
import { Agent, type Dispatcher, request } from 'undici';
import { z } from 'zod';
import { networkFailureWords, redactSecrets, rememberSecrets } from '../runtime/errors.js';

export type MlflowAuth =
  { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

export type MlflowErrorKind =
  | 'Unreachable' // network error or timeout
  | 'ServerError' // 5xx, 429
  | 'Unauthorized' // 401 / 403
  | 'ModelNotFound'
  | 'AliasNotFound'
  | 'NoVersionInStage'
  | 'VersionNotReady'
  | 'NotFound' // a model version or run the request named does not exist
  | 'BadRequest' // other 4xx: the request the spec produced is wrong
  | 'InvalidResponse'; // not JSON, or not the shape MLflow documents

export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  constructor(
    readonly kind: MlflowErrorKind,
    message: string,
    readonly details: { httpStatus?: number; errorCode?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ModelVersionSchema = z.object({
  name: z.string().min(1),
  version: z.string().regex(/^[0-9]+$/, 'version must be a string of digits'),
  run_id: z.string().optional(),
  source: z.string().optional(),
  status: z.string().optional(),
  current_stage: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  last_updated_timestamp: z.number().optional(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

const AliasResponse = z.object({ model_version: ModelVersionSchema });
const LatestVersionsResponse = z.object({ model_versions: z.array(ModelVersionSchema).optional() });
const VersionResponse = z.object({ model_version: ModelVersionSchema });
// MLflow writes a non-finite metric as the string "NaN" or "Infinity".
const RunResponse = z.object({
  run: z.object({
    data: z
      .object({
        metrics: z.array(z.object({ key: z.string(), value: z.union([z.number(), z.string()]) })).optional(),
      })
      .optional(),
  }),
});
const ErrorBody = z.object({ error_code: z.string().optional(), message: z.string().optional() });

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface MlflowClientOptions {
  trackingUri: string;
  auth?: MlflowAuth;
  timeoutMs: number;
  dispatcher?: Dispatcher;
  /** Called after each request with its endpoint, outcome ('ok' or an error kind) and duration. */
  observe?: (endpoint: string, outcome: string, seconds: number) => void;
}

export class MlflowClient {
  private readonly base: string;
  /** Why the tracking URI cannot be requested at all, if it cannot. */
  private readonly invalidUri: string | undefined;
  private readonly secrets: string[];

  constructor(private readonly options: MlflowClientOptions) {
    // Userinfo in the URI is a credential too: never shown.
    this.base = options.trackingUri.replace(/\/+$/, '').replace(/\/\/[^/@]*@/, '//***@');
    this.invalidUri = invalidUrl(options.trackingUri);
    this.secrets = credentialValues(options.auth);
    rememberSecrets(...this.secrets); // the last line of defence where messages are written
  }

  /** The version an alias points at; it must be READY. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const body = await this.get('/registered-models/alias', { name, alias }, (err) => {
      if (err.details.httpStatus === 400 && /alias .* not found/i.test(err.message)) {
        return new MlflowError(
          'AliasNotFound',
          `MLflow has no alias "${alias}" on registered model "${name}"`,
          err.details,
        );
      }
      return notFoundAsModel(err, name);
    });
    const { model_version: version } = parse(AliasResponse, body, 'registered-models/alias');
    if (version.status !== undefined && version.status !== 'READY') {
      throw new MlflowError(
        'VersionNotReady',
        `version ${version.version} of "${name}" behind alias "${alias}" is ${version.status}, not READY`,
      );
    }
    return version;
  }

  /** The newest READY version in `stage`. */
  async getLatestVersionInStage(name: string, stage: string): Promise<ModelVersion> {
    const body = await this.get('/registered-models/get-latest-versions', { name, stages: stage }, (err) =>
      notFoundAsModel(err, name),
    );
    const { model_versions: versions = [] } = parse(
      LatestVersionsResponse,
      body,
      'registered-models/get-latest-versions',
    );
    const ready = versions.filter((v) => (v.status ?? 'READY') === 'READY');
    const newest = ready.sort((a, b) => Number(b.version) - Number(a.version))[0];
    if (!newest) {
      throw new MlflowError(
        'NoVersionInStage',
        `registered model "${name}" has no READY version in stage ${stage}`,
      );
    }
    return newest;
  }

  /** One version of a registered model, whatever its stage or aliases. */
  async getVersion(name: string, version: string): Promise<ModelVersion> {
    const body = await this.get('/model-versions/get', { name, version }, (err) =>
      notFoundAs(err, `MLflow has no version ${version} of registered model "${name}"`),
    );
    return parse(VersionResponse, body, 'model-versions/get').model_version;
  }

  /** The latest value of each metric the run logged; a non-finite value is NaN. */
  async getRunMetrics(runId: string): Promise<Record<string, number>> {
    const body = await this.get('/runs/get', { run_id: runId }, (err) =>
      notFoundAs(err, `MLflow has no run "${runId}"`),
    );
    const metrics = parse(RunResponse, body, 'runs/get').run.data?.metrics ?? [];
    return Object.fromEntries(metrics.map(({ key, value }) => [key, Number(value)]));
  }

  /** Sets a tag on a model version (write-back of what was deployed). */
  async setVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.post('/model-versions/set-tag', { name, version, key, value }, (err) =>
      notFoundAsModel(err, name),
    );
  }

  /** Points `alias` at `version`, creating or moving it. */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.post('/registered-models/alias', { name, alias, version }, (err) =>
      notFoundAsModel(err, name),
    );
  }

  private get(
    path: string,
    query: Record<string, string>,
    mapError: (err: MlflowError) => MlflowError,
  ): Promise<unknown> {
    return this.call({ method: 'GET', path, query }, mapError);
  }

  private post(
    path: string,
    body: Record<string, string>,
    mapError: (err: MlflowError) => MlflowError,
  ): Promise<unknown> {
    return this.call({ method: 'POST', path, query: {}, body }, mapError);
  }

  private async call(req: MlflowRequest, mapError: (err: MlflowError) => MlflowError): Promise<unknown> {
    const { path } = req;
    const started = performance.now();
    const observe = (outcome: string) =>
      this.options.observe?.(path, outcome, (performance.now() - started) / 1000);
    try {
      const body = await this.request(req, mapError);
      observe('ok');
      return body;
    } catch (err) {
      observe(err instanceof MlflowError ? err.kind : 'Error');
      if (err instanceof Error) err.message = redactSecrets(err.message, this.secrets);
      throw err;
    }
  }

  private async request(
    { method, path, query, body }: MlflowRequest,
    mapError: (err: MlflowError) => MlflowError,
  ): Promise<unknown> {
    if (this.invalidUri) {
      throw new MlflowError(
        'BadRequest',
        `spec.registry.trackingUri "${this.base}" is not a URL the client accepts (${this.invalidUri})`,
      );
    }
    const search = method === 'GET' ? `?${new URLSearchParams(query)}` : '';
    const url = `${this.options.trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow${path}${search}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...authHeader(this.options.auth),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        dispatcher: this.options.dispatcher ?? sharedAgent(),
      });
    } catch (err) {
      // undici refuses to send what it cannot encode (a URL, a header value): no retry helps.
      if ((err as { code?: unknown }).code === 'UND_ERR_INVALID_ARG') {
        throw new MlflowError(
          'BadRequest',
          `cannot send a request to MLflow at ${this.base}: ${(err as Error).message}`,
          {},
          { cause: err },
        );
      }
      throw new MlflowError(
        'Unreachable',
        `cannot reach MLflow at ${this.base}: ${describeNetworkError(err)}`,
        {},
        { cause: err },
      );
    }
    const text = await readText(res, this.base);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new MlflowError(
          'InvalidResponse',
          `MLflow at ${this.base} answered ${path} with a body that is not JSON`,
          {
            httpStatus: res.statusCode,
          },
        );
      }
    }
    throw mapError(errorFromResponse(res.statusCode, redactSecrets(text, this.secrets), this.base));
  }
}

interface MlflowRequest {
  method: 'GET' | 'POST';
  path: string;
  query: Record<string, string>;
  body?: Record<string, string>;
}

function notFoundAsModel(err: MlflowError, name: string): MlflowError {
  if (err.details.httpStatus === 404 && err.details.errorCode === 'RESOURCE_DOES_NOT_EXIST') {
    return new MlflowError('ModelNotFound', `MLflow has no registered model named "${name}"`, err.details);
  }
  return err;
}

function notFoundAs(err: MlflowError, message: string): MlflowError {
  if (err.details.httpStatus === 404 && err.details.errorCode === 'RESOURCE_DOES_NOT_EXIST') {
    return new MlflowError('NotFound', message, err.details);
  }
  return err;
}

function errorFromResponse(httpStatus: number, text: string, base: string): MlflowError {
  let errorCode: string | undefined;
  let message = text.trim().slice(0, 300);
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) {
      errorCode = parsed.data.error_code;
      message = parsed.data.message ?? message;
    }
  } catch {
    // plain-text error page: keep the text
  }
  const details = { httpStatus, ...(errorCode ? { errorCode } : {}) };
  const said = `MLflow answered ${httpStatus}${errorCode ? ` ${errorCode}` : ''}: ${message || '(empty body)'}`;
  if (httpStatus === 401 || httpStatus === 403) {
    // 401: who you are was refused; 403: who you are may not do this (MLflow's permissions).
    const hint = /host header/i.test(message)
      ? ' (start mlflow server with --allowed-hosts including this host name)'
      : httpStatus === 401
        ? ' (check the credentials Secret named in spec.registry.credentialsSecretRef)'
        : ' (the credentials in spec.registry.credentialsSecretRef lack the permission in MLflow)';
    return new MlflowError('Unauthorized', said + hint, details);
  }
  if (httpStatus === 429 || httpStatus >= 500) return new MlflowError('ServerError', said, details);
  if (httpStatus === 404 && !errorCode) {
    return new MlflowError('BadRequest', `${said} (is ${base} an MLflow tracking server?)`, details);
  }
  return new MlflowError('BadRequest', said, details);
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new MlflowError(
      'InvalidResponse',
      `MLflow answered ${what} with an unexpected shape: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return result.data;
}

async function readText(res: Dispatcher.ResponseData, base: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.body.destroy();
        throw new MlflowError(
          'InvalidResponse',
          `MLflow at ${base} sent a response larger than ${MAX_BODY_BYTES} bytes`,
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof MlflowError) throw err;
    throw new MlflowError(
      'Unreachable',
      `reading the response from ${base} failed: ${describeNetworkError(err)}`,
      {},
      { cause: err },
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

function authHeader(auth: MlflowAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.kind === 'basic') {
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
  return { authorization: `Bearer ${auth.token}` };
}

/** The values an echo could carry: each secret, `user:password` and the header's base64. */
export function credentialValues(auth: MlflowAuth | undefined): string[] {
  if (!auth) return [];
  if (auth.kind === 'bearer') return [auth.token];
  const pair = `${auth.username}:${auth.password}`;
  return [auth.password, pair, Buffer.from(pair).toString('base64')];
}

/** Why `uri` is no URL undici can request, or undefined when it is one. */
function invalidUrl(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : `scheme ${url.protocol}`;
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_INVALID_URL' ? 'invalid URL' : String(err);
  }
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return networkFailureWords(err) ?? e?.code ?? e?.cause?.code ?? e?.message ?? String(err);
}

let agent: Agent | undefined;
// One keep-alive pool for all ModelDeployments; undici pools per origin inside it.
function sharedAgent(): Agent {
  agent ??= new Agent({ keepAliveTimeout: 30_000, connections: 16 });
  return agent;
}
