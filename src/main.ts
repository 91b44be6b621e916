// Entry point: configuration, wiring, graceful shutdown on SIGTERM / SIGINT.
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, loadConfig } from './config.js';
import { makeLogger } from './log.js';
import { Operator } from './operator.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = makeLogger(config.logLevel);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const operator = new Operator(kc, config, log);

  // Informers and the work queue run on unref'd timers and promises; the process lives until a
  // signal says otherwise, even while the apiserver is unreachable and nothing else is pending.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'Shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    await operator.stop();
    clearInterval(keepAlive);
    log.info('Stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  log.info({ server: kc.getCurrentCluster()?.server }, 'Starting mlflow-model-operator');
  await operator.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
