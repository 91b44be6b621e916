// The MLflow webhook receiver as the operator runs it: one source per configured MLflow server,
// its secret in <secrets dir>/<source>, TLS from a kubernetes.io/tls Secret's files. A verified
// event wakes the ModelDeployments that follow its model on that server; a standby replica
// answers 503 so MLflow retries, on a new connection the Service may route to the leader.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { OperatorMetrics } from './metrics.js';
import { WebhookReceiver } from './webhooks/receiver.js';

export function makeWebhookReceiver(
  config: Config['webhooks'],
  wakeFollowers: (trackingUri: string, model: string) => number,
  standby: () => boolean,
  metrics: OperatorMetrics,
  log: Logger,
): WebhookReceiver | undefined {
  if (config.sources.length === 0) return undefined;
  const trackingUris = new Map(config.sources.map((s) => [s.name, s.trackingUri]));
  if (!config.tlsDir)
    log.warn('Webhook receiver serves plain HTTP: MLflow delivers only to https URLs by default');
  return new WebhookReceiver({
    port: config.port,
    sources: config.sources.map((s) => ({
      name: s.name,
      secretFiles: [path.join(config.secretsDir, s.name)],
    })),
    ...(config.tlsDir && {
      tls: { certFile: path.join(config.tlsDir, 'tls.crt'), keyFile: path.join(config.tlsDir, 'tls.key') },
    }),
    standby,
    onEvent: (source, event, deliveryId) => {
      const woken = wakeFollowers(trackingUris.get(source) as string, event.model);
      log.info({ source, deliveryId, event: event.kind, model: event.model, woken }, 'MLflow webhook event');
    },
    observe: (source, outcome) => metrics.webhookDeliveries.inc({ source, outcome }),
    log,
  });
}
