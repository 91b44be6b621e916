// Operator settings from the environment, validated at start-up: a bad value stops the process
// at once with a message naming the setting.
import { z } from 'zod';
import { GO_DURATION, parseDurationMs } from './runtime/duration.js';
import { JITTER_FACTOR } from './runtime/leaderElection.js';

const duration = (fallback: string) =>
  z
    .string()
    .regex(GO_DURATION, 'must be a Go duration such as 30s or 5m')
    .default(fallback)
    .transform((s) => parseDurationMs(s))
    .refine((ms) => ms > 0, 'must be greater than zero');

const ConfigSchema = z
  .object({
    WATCH_NAMESPACES: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      )
      .describe('Comma-separated namespaces to watch; empty watches all namespaces.'),
    MAX_CONCURRENT_RECONCILES: z.coerce.number().int().min(1).max(64).default(4),
    KUBE_API_QPS: z.coerce
      .number()
      .max(10_000)
      .refine((n) => n === -1 || n > 0, 'must be -1 (no client-side limit) or greater than zero')
      .default(-1)
      .describe(
        'Sustained apiserver requests a second (client-go QPS); -1: no client-side limit, the ' +
          "apiserver's API Priority and Fairness decides (controller-runtime's default since v0.21).",
      ),
    KUBE_API_BURST: z.coerce
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(30)
      .describe('Apiserver requests allowed at once above KUBE_API_QPS (client-go Burst), when it is set.'),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    RESYNC_PERIOD: duration('10m'),
    WATCH_IDLE_TIMEOUT: duration('65m'),
    SHUTDOWN_TIMEOUT: duration('30s'),
    FIELD_MANAGER: z.string().min(1).default('mlflow-model-operator'),
    AWS_ENDPOINT_URL: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')
      .optional()
      .describe('Endpoint for ECR and CodeBuild (an emulator in tests); the AWS default otherwise.'),
    METRICS_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8080)
      .describe('Port of /metrics; 0 picks a free one.'),
    HEALTH_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8081)
      .describe('Port of /healthz and /readyz; 0 picks a free one.'),
    WEBHOOK_SOURCES: z
      .string()
      .default('')
      .transform((s, ctx) => {
        const sources: { name: string; trackingUri: string }[] = [];
        for (const entry of s
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean)) {
          const m = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)=(https?:\/\/\S+)$/.exec(entry);
          if (!m) {
            ctx.addIssue({
              code: 'custom',
              message: `"${entry}" must be <name>=<tracking URI>, the name a DNS label (e.g. prod=https://mlflow.example.com)`,
            });
            return z.NEVER;
          }
          sources.push({ name: m[1] as string, trackingUri: m[3] as string });
        }
        return sources;
      })
      .describe('MLflow servers whose webhooks are received, as name=trackingURI pairs; empty: no receiver.'),
    WEBHOOK_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(9443)
      .describe('Port of the webhook receiver.'),
    WEBHOOK_SECRETS_DIR: z
      .string()
      .min(1)
      .default('/etc/mlflow-model-operator/webhook-secrets')
      .describe('Directory with one file per webhook source, named after it, holding its secret(s).'),
    WEBHOOK_TLS_DIR: z
      .string()
      .default('/etc/mlflow-model-operator/webhook-tls')
      .describe(
        'Directory with tls.crt and tls.key of the receiver (a kubernetes.io/tls Secret); empty: plain HTTP.',
      ),
    LEADER_ELECT: z
      .enum(['true', 'false'])
      .default('true')
      .transform((s) => s === 'true')
      .describe('Run for leader on a Lease; only the leader reconciles.'),
    LEADER_ELECTION_NAMESPACE: z
      .string()
      .optional()
      .describe('Namespace of the Lease; POD_NAMESPACE by default.'),
    POD_NAMESPACE: z.string().optional(),
    LEADER_ELECTION_ID: z
      .string()
      .min(1)
      .default('mlflow-model-operator-leader')
      .describe('Name of the Lease.'),
    LEASE_DURATION: duration('15s').refine(
      (ms) => ms % 1000 === 0,
      'must be whole seconds (Lease.spec.leaseDurationSeconds is an integer)',
    ),
    RENEW_DEADLINE: duration('10s'),
    RETRY_PERIOD: duration('2s'),
  })
  // client-go's rules: a leader gives up before its lease can expire, and retries with jitter
  // (up to 1.2 × RETRY_PERIOD) still fit in the renew deadline.
  .superRefine((c, ctx) => {
    if (c.RENEW_DEADLINE >= c.LEASE_DURATION)
      ctx.addIssue({ code: 'custom', path: ['RENEW_DEADLINE'], message: 'must be less than LEASE_DURATION' });
    if (c.RENEW_DEADLINE <= c.RETRY_PERIOD * JITTER_FACTOR)
      ctx.addIssue({
        code: 'custom',
        path: ['RETRY_PERIOD'],
        message: `must be less than RENEW_DEADLINE / ${JITTER_FACTOR} (the retry jitter factor)`,
      });
  });

export type Config = {
  watchNamespaces: string[];
  maxConcurrentReconciles: number;
  kubeApi: { qps: number; burst: number };
  logLevel: string;
  resyncPeriodMs: number;
  watchIdleTimeoutMs: number;
  shutdownTimeoutMs: number;
  fieldManager: string;
  awsEndpoint: string | undefined;
  metricsPort: number;
  healthPort: number;
  webhooks: {
    sources: { name: string; trackingUri: string }[];
    port: number;
    secretsDir: string;
    tlsDir: string | undefined;
  };
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The settings that may be given as flags: `--watch-namespaces=a,b` sets WATCH_NAMESPACES. */
export const SETTINGS = Object.keys(ConfigSchema.shape).filter((k) => k !== 'POD_NAMESPACE');

/**
 * Flags (`--log-level=debug` or `--log-level debug`) as settings; they win over the environment.
 * An unknown flag or one without a value is a configuration error naming it.
 */
export function settingsFromFlags(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!m)
      throw new ConfigError(
        `unexpected argument "${arg}": settings are --name=value flags or environment variables`,
      );
    const key = (m[1] as string).toUpperCase().replace(/-/g, '_');
    if (!SETTINGS.includes(key))
      throw new ConfigError(`unknown flag --${m[1]}; known: ${SETTINGS.map(flagOf).join(', ')}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new ConfigError(`flag --${m[1]} needs a value`);
    out[key] = value;
  }
  return out;
}

const flagOf = (setting: string) => `--${setting.toLowerCase().replace(/_/g, '-')}`;

export function loadConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): Config {
  const parsed = ConfigSchema.safeParse({ ...env, ...settingsFromFlags(argv) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid operator configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  return {
    watchNamespaces: c.WATCH_NAMESPACES,
    maxConcurrentReconciles: c.MAX_CONCURRENT_RECONCILES,
    kubeApi: { qps: c.KUBE_API_QPS, burst: c.KUBE_API_BURST },
    logLevel: c.LOG_LEVEL,
    resyncPeriodMs: c.RESYNC_PERIOD,
    watchIdleTimeoutMs: c.WATCH_IDLE_TIMEOUT,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT,
    fieldManager: c.FIELD_MANAGER,
    awsEndpoint: c.AWS_ENDPOINT_URL,
    metricsPort: c.METRICS_PORT,
    healthPort: c.HEALTH_PORT,
    webhooks: {
      sources: c.WEBHOOK_SOURCES,
      port: c.WEBHOOK_PORT,
      secretsDir: c.WEBHOOK_SECRETS_DIR,
      tlsDir: c.WEBHOOK_TLS_DIR || undefined,
    },
    leaderElection: {
      enabled: c.LEADER_ELECT,
      namespace: c.LEADER_ELECTION_NAMESPACE || c.POD_NAMESPACE || 'default',
      name: c.LEADER_ELECTION_ID,
      leaseDurationMs: c.LEASE_DURATION,
      renewDeadlineMs: c.RENEW_DEADLINE,
      retryPeriodMs: c.RETRY_PERIOD,
    },
  };
}
