import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      watchNamespaces: [],
      maxConcurrentReconciles: 4,
      kubeApi: { qps: -1, burst: 30 },
      logLevel: 'info',
      resyncPeriodMs: 600_000,
      watchIdleTimeoutMs: 65 * 60_000,
      shutdownTimeoutMs: 30_000,
      fieldManager: 'mlflow-model-operator',
      awsEndpoint: undefined,
      metricsPort: 8080,
      healthPort: 8081,
      webhooks: {
        sources: [],
        port: 9443,
        secretsDir: '/etc/mlflow-model-operator/webhook-secrets',
        tlsDir: '/etc/mlflow-model-operator/webhook-tls',
      },
      leaderElection: {
        enabled: true,
        namespace: 'default',
        name: 'mlflow-model-operator-leader',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
    });
  });

  it('WEBHOOK_SOURCES: name=trackingURI pairs; a bad pair names itself and the form', () => {
    expect(
      loadConfig({ WEBHOOK_SOURCES: 'prod=https://mlflow.example.com, dev=http://mlflow.dev:5000' }).webhooks
        .sources,
    ).toEqual([
      { name: 'prod', trackingUri: 'https://mlflow.example.com' },
      { name: 'dev', trackingUri: 'http://mlflow.dev:5000' },
    ]);
    expect(() => loadConfig({ WEBHOOK_SOURCES: 'Prod=mlflow' })).toThrow(
      /"Prod=mlflow" must be <name>=<tracking URI>/,
    );
    expect(loadConfig({ WEBHOOK_TLS_DIR: '' }).webhooks.tlsDir).toBeUndefined();
  });

  it('ignores unrelated environment variables', () => {
    expect(loadConfig({ PATH: '/bin', HOME: '/root', UNRELATED: 'x' }).maxConcurrentReconciles).toBe(4);
  });

  it.each([
    { value: '', namespaces: [] },
    { value: 'team-a', namespaces: ['team-a'] },
    { value: 'team-a,team-b', namespaces: ['team-a', 'team-b'] },
    { value: ' team-a , team-b ,, ', namespaces: ['team-a', 'team-b'] },
    { value: ',', namespaces: [] },
  ])('WATCH_NAMESPACES=$value → $namespaces', ({ value, namespaces }) => {
    expect(loadConfig({ WATCH_NAMESPACES: value }).watchNamespaces).toEqual(namespaces);
  });

  it.each([
    { env: { MAX_CONCURRENT_RECONCILES: '1' }, field: 'maxConcurrentReconciles', value: 1 },
    { env: { MAX_CONCURRENT_RECONCILES: '64' }, field: 'maxConcurrentReconciles', value: 64 },
    { env: { LOG_LEVEL: 'debug' }, field: 'logLevel', value: 'debug' },
    { env: { RESYNC_PERIOD: '1h30m' }, field: 'resyncPeriodMs', value: 5_400_000 },
    { env: { WATCH_IDLE_TIMEOUT: '5m' }, field: 'watchIdleTimeoutMs', value: 300_000 },
    { env: { SHUTDOWN_TIMEOUT: '1.5s' }, field: 'shutdownTimeoutMs', value: 1500 },
    { env: { FIELD_MANAGER: 'me' }, field: 'fieldManager', value: 'me' },
  ])('parses $env', ({ env, field, value }) => {
    expect(loadConfig(env)).toHaveProperty(field, value);
  });

  it.each([
    { name: 'MAX_CONCURRENT_RECONCILES', value: '0' },
    { name: 'MAX_CONCURRENT_RECONCILES', value: '65' },
    { name: 'MAX_CONCURRENT_RECONCILES', value: '2.5' },
    { name: 'MAX_CONCURRENT_RECONCILES', value: 'four' },
    { name: 'LOG_LEVEL', value: 'loud' },
    { name: 'LOG_LEVEL', value: 'INFO' },
    { name: 'RESYNC_PERIOD', value: 'soon' },
    { name: 'RESYNC_PERIOD', value: '600' },
    { name: 'WATCH_IDLE_TIMEOUT', value: '1d' },
    { name: 'SHUTDOWN_TIMEOUT', value: '-1s' },
    { name: 'FIELD_MANAGER', value: '' },
  ])('$name=$value → ConfigError naming $name', ({ name, value }) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^invalid operator configuration: ${name}: `),
    );
  });

  it('names every bad setting at once', () => {
    let message = '';
    try {
      loadConfig({ MAX_CONCURRENT_RECONCILES: '0', LOG_LEVEL: 'loud', RESYNC_PERIOD: 'soon' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    for (const name of ['MAX_CONCURRENT_RECONCILES', 'LOG_LEVEL', 'RESYNC_PERIOD'])
      expect(message).toContain(`${name}: `);
  });

  it('reads the leader election settings', () => {
    const env = {
      LEADER_ELECT: 'false',
      LEADER_ELECTION_NAMESPACE: 'ops',
      LEADER_ELECTION_ID: 'my-lease',
      LEASE_DURATION: '4s',
      RENEW_DEADLINE: '3s',
      RETRY_PERIOD: '1s',
    };
    expect(loadConfig(env).leaderElection).toEqual({
      enabled: false,
      namespace: 'ops',
      name: 'my-lease',
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 1000,
    });
  });

  it('puts the Lease in POD_NAMESPACE unless LEADER_ELECTION_NAMESPACE says otherwise', () => {
    expect(loadConfig({ POD_NAMESPACE: 'mlops' }).leaderElection.namespace).toBe('mlops');
    expect(
      loadConfig({ POD_NAMESPACE: 'mlops', LEADER_ELECTION_NAMESPACE: 'ops' }).leaderElection.namespace,
    ).toBe('ops');
  });

  it.each([
    { env: { LEADER_ELECT: 'yes' }, name: 'LEADER_ELECT' },
    { env: { LEADER_ELECTION_ID: '' }, name: 'LEADER_ELECTION_ID' },
    { env: { LEASE_DURATION: '15.5s' }, name: 'LEASE_DURATION' },
    { env: { RETRY_PERIOD: '0s' }, name: 'RETRY_PERIOD' },
    { env: { RENEW_DEADLINE: '15s' }, name: 'RENEW_DEADLINE' },
    { env: { LEASE_DURATION: '5s' }, name: 'RENEW_DEADLINE' },
    { env: { RETRY_PERIOD: '10s' }, name: 'RETRY_PERIOD' },
    { env: { RETRY_PERIOD: '9s' }, name: 'RETRY_PERIOD' }, // 9s × 1.2 jitter > 10s
  ])('$env → ConfigError naming $name', ({ env, name }) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid operator configuration: ${name}: `));
  });

  it('says which lease settings contradict each other', () => {
    expect(() => loadConfig({ LEASE_DURATION: '4s', RENEW_DEADLINE: '4s', RETRY_PERIOD: '4s' })).toThrow(
      'invalid operator configuration: RENEW_DEADLINE: must be less than LEASE_DURATION; ' +
        'RETRY_PERIOD: must be less than RENEW_DEADLINE / 1.2 (the retry jitter factor)',
    );
  });

  // A zero period reaches setInterval(…, 0) in the informer (resync every millisecond) and a
  // zero watchdog restarts the watch continuously.
  it.each(['RESYNC_PERIOD', 'WATCH_IDLE_TIMEOUT'])('%s=0s is refused', (name) => {
    expect(() => loadConfig({ [name]: '0s' })).toThrow(ConfigError);
  });
});

describe('flags', () => {
  it.each([
    { argv: ['--watch-namespaces=a,b'], key: 'watchNamespaces', value: ['a', 'b'] },
    { argv: ['--log-level', 'debug'], key: 'logLevel', value: 'debug' },
    {
      argv: ['--leader-elect=false'],
      key: 'leaderElection',
      value: expect.objectContaining({ enabled: false }),
    },
    { argv: ['--metrics-port=9090', '--health-port', '9091'], key: 'metricsPort', value: 9090 },
  ])('$argv', ({ argv, key, value }) => {
    expect(loadConfig({}, argv)).toMatchObject({ [key]: value });
  });

  it('win over the environment', () => {
    expect(loadConfig({ LOG_LEVEL: 'warn' }, ['--log-level=error']).logLevel).toBe('error');
  });

  it.each([
    { argv: ['--no-such-setting=1'], says: 'unknown flag --no-such-setting' },
    { argv: ['--log-level'], says: 'flag --log-level needs a value' },
    { argv: ['positional'], says: 'unexpected argument "positional"' },
    { argv: ['--max-concurrent-reconciles=0'], says: 'MAX_CONCURRENT_RECONCILES: ' },
  ])('refuses $argv', ({ argv, says }) => {
    expect(() => loadConfig({}, argv)).toThrow(says);
  });
});
