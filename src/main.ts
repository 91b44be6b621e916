// Entry point: configuration, wiring, graceful shutdown on SIGTERM / SIGINT.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { ConfigError, loadConfig } from './config.js';
import { makeLogger } from './log.js';
import { OperatorMetrics } from './metrics.js';
import { Operator } from './operator.js';
import { startProbeServers } from './probes.js';
import { PooledKubeConfig } from './runtime/kubeConfig.js';
import { LeaderElector, defaultIdentity } from './runtime/leaderElection.js';
import { makeWebhookReceiver } from './webhookServer.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = makeLogger(config.logLevel);
  const kc = new PooledKubeConfig(config.kubeApi);
  kc.loadFromDefault();
  const metrics = new OperatorMetrics();
  const operator = new Operator(kc, config, log, metrics);
  let stopping = false;
  // With leader election only the leader runs the controller; a replica that loses the lease
  // exits at once (like controller-runtime) so it can never reconcile next to the new leader.
  const { enabled: elect, ...election } = config.leaderElection;
  const elector = elect
    ? new LeaderElector({
        ...election,
        api: kc.makeApiClient(CoordinationV1Api),
        identity: defaultIdentity(),
        log,
        onStartedLeading: () => {
          if (!stopping) operator.start().catch(fatal);
        },
        onStoppedLeading: () => process.exit(1),
      })
    : undefined;
  metrics.leading = () => !elector || elector.isLeader;

  // Informers and the work queue run on unref'd timers and promises; the process lives until a
  // signal says otherwise, even while the apiserver is unreachable and nothing else is pending.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  // Probes come up before the election: a standby replica is alive and ready to take over.
  const probes = await startProbeServers({
    healthPort: config.healthPort,
    metricsPort: config.metricsPort,
    liveness: () => null,
    readiness: () => (elector && !elector.isLeader ? null : operator.readiness()),
    registry: metrics.registry,
  });
  log.info(
    { healthPort: probes.ports.health, metricsPort: probes.ports.metrics },
    'Serving probes and metrics',
  );
  const webhooks = makeWebhookReceiver(
    config.webhooks,
    (trackingUri, model) => operator.wakeFollowers(trackingUri, model),
    () => elector !== undefined && !elector.isLeader,
    metrics,
    log,
  );
  if (webhooks) {
    await webhooks.start();
    log.info(
      { port: webhooks.port, sources: config.webhooks.sources.map((s) => s.name) },
      'Serving MLflow webhooks',
    );
  }
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'Shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    await webhooks?.stop();
    await operator.stop();
    await elector?.stop(); // still renewing while the controller drained; now hand the lease over
    await probes.close();
    clearInterval(keepAlive);
    log.info('Stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  log.info({ server: kc.getCurrentCluster()?.server }, 'Starting mlflow-model-operator');
  if (elector) elector.start();
  else await operator.start();
}

function fatal(err: unknown): never {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

main().catch(fatal);
