// The MLflow client's error text against a registry that echoes the request headers (undici's
// MockAgent stands in for the server; the bed's integration test uses a real one).
import { describe, expect, it } from '@jest/globals';
import { MockAgent } from 'undici';
import { MlflowClient, MlflowError, credentialValues, type MlflowAuth } from '../../../src/clients/mlflow.js';

const BASE = 'http://mlflow.test:5000';

function echoing(status: number, asJson: boolean): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agent
    .get(BASE)
    .intercept({ path: (p) => p.startsWith('/api/2.0/mlflow/'), method: 'GET' })
    .reply(status, (opts) => {
      const headers = Object.entries(opts.headers as Record<string, string>)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n');
      return asJson
        ? JSON.stringify({ error_code: 'BAD', message: `you sent ${headers}` })
        : `you sent\n${headers}`;
    })
    .persist();
  return agent;
}

async function failure(client: MlflowClient): Promise<MlflowError> {
  const err = await client.getVersionByAlias('m', 'champion').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MlflowError);
  return err as MlflowError;
}

const basic: MlflowAuth = { kind: 'basic', username: 'u', password: 'p4ss-w0rd-unit' };
const bearer: MlflowAuth = { kind: 'bearer', token: 'tok-unit-8842' };

describe('MlflowClient never repeats the credentials a server echoes', () => {
  it.each([
    ['basic, 400 JSON', basic, 400, true],
    ['basic, 500 text', basic, 500, false],
    ['bearer, 400 JSON', bearer, 400, true],
    ['bearer, 500 text', bearer, 500, false],
  ] as const)('%s', async (_, auth, status, asJson) => {
    const client = new MlflowClient({
      trackingUri: BASE,
      auth,
      timeoutMs: 2000,
      dispatcher: echoing(status, asJson),
    });
    const err = await failure(client);
    expect(err.message).toContain('you sent');
    for (const value of credentialValues(auth)) expect(err.message).not.toContain(value);
  });

  it('credentialValues covers the password, user:password and the base64 the header carries', () => {
    expect(credentialValues(basic)).toEqual([
      'p4ss-w0rd-unit',
      'u:p4ss-w0rd-unit',
      Buffer.from('u:p4ss-w0rd-unit').toString('base64'),
    ]);
    expect(credentialValues(bearer)).toEqual(['tok-unit-8842']);
    expect(credentialValues(undefined)).toEqual([]);
  });
});

describe('MlflowClient: requests no retry can send are BadRequest, not Unreachable', () => {
  it('a tracking URI that is no URL', async () => {
    const err = await failure(new MlflowClient({ trackingUri: 'http://127.0.0.1:99999', timeoutMs: 2000 }));
    expect(err.kind).toBe('BadRequest');
    expect(err.message).toContain('spec.registry.trackingUri "http://127.0.0.1:99999" is not a URL');
  });

  it('userinfo in the tracking URI is not shown', async () => {
    const err = await failure(new MlflowClient({ trackingUri: 'http://bob:hunter22@[::1', timeoutMs: 2000 }));
    expect(err.message).not.toContain('hunter22');
  });

  it('a connection refused is Unreachable, in words', async () => {
    const err = await failure(new MlflowClient({ trackingUri: 'http://127.0.0.1:1', timeoutMs: 2000 }));
    expect(err.kind).toBe('Unreachable');
    expect(err.message).toBe('cannot reach MLflow at http://127.0.0.1:1: connection refused');
  });
});
