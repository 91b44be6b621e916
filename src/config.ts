// Operator settings from the environment, validated at start-up: a bad value stops the process
// at once with a message naming the setting.
import { z } from 'zod';
import { GO_DURATION, parseDurationMs } from './runtime/duration.js';

const duration = (fallback: string) =>
  z
    .string()
    .regex(GO_DURATION, 'must be a Go duration such as 30s or 5m')
    .default(fallback)
    .transform((s) => parseDurationMs(s))
    .refine((ms) => ms > 0, 'must be greater than zero');

const ConfigSchema = z.object({
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
});

export type Config = {
  watchNamespaces: string[];
  maxConcurrentReconciles: number;
  logLevel: string;
  resyncPeriodMs: number;
  watchIdleTimeoutMs: number;
  shutdownTimeoutMs: number;
  fieldManager: string;
  awsEndpoint: string | undefined;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid operator configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  return {
    watchNamespaces: c.WATCH_NAMESPACES,
    maxConcurrentReconciles: c.MAX_CONCURRENT_RECONCILES,
    logLevel: c.LOG_LEVEL,
    resyncPeriodMs: c.RESYNC_PERIOD,
    watchIdleTimeoutMs: c.WATCH_IDLE_TIMEOUT,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT,
    fieldManager: c.FIELD_MANAGER,
    awsEndpoint: c.AWS_ENDPOINT_URL,
  };
}
