import { describe, expect, it } from '@jest/globals';
import type { MlflowAuth } from '../../../src/clients/mlflow.js';
import { CredentialsError, credentialsFromSecretData } from '../../../src/clients/mlflowCredentials.js';

// Secret data as the apiserver returns it: base64 values.
const b64 = (plain: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));

const USER = 'alice-user-7f3a';
const PASS = 's3cr3t-P@ss-9c1e';
const TOKEN = 'tok-0123456789abcdef';

describe('credentialsFromSecretData', () => {
  it.each<{ name: string; data: Record<string, string>; auth: MlflowAuth }>([
    {
      name: 'basic',
      data: { username: USER, password: PASS },
      auth: { kind: 'basic', username: USER, password: PASS },
    },
    { name: 'bearer', data: { token: TOKEN }, auth: { kind: 'bearer', token: TOKEN } },
    {
      name: 'basic wins over token',
      data: { username: USER, password: PASS, token: TOKEN },
      auth: { kind: 'basic', username: USER, password: PASS },
    },
    {
      name: 'values are trimmed (echo adds a newline)',
      data: { username: `${USER}\n`, password: ` ${PASS}\n` },
      auth: { kind: 'basic', username: USER, password: PASS },
    },
    {
      name: 'unknown keys are ignored',
      data: { token: TOKEN, other: 'x' },
      auth: { kind: 'bearer', token: TOKEN },
    },
    {
      name: 'empty username and password fall back to token',
      data: { username: '', password: ' ', token: TOKEN },
      auth: { kind: 'bearer', token: TOKEN },
    },
  ])('$name', ({ data, auth }) => {
    expect(credentialsFromSecretData('mlflow-auth', b64(data))).toEqual(auth);
  });

  it.each([
    {
      name: 'only username',
      data: b64({ username: USER }),
      says: 'has only one of "username" and "password"',
    },
    {
      name: 'only password',
      data: b64({ password: PASS }),
      says: 'has only one of "username" and "password"',
    },
    {
      name: 'only password, with a token',
      data: b64({ password: PASS, token: TOKEN }),
      says: 'has only one of',
    },
    { name: 'no data', data: undefined, says: 'has no usable credentials' },
    { name: 'empty data', data: {}, says: 'has no usable credentials' },
    { name: 'blank token', data: b64({ token: '  \n' }), says: 'has no usable credentials' },
    { name: 'unrelated keys only', data: b64({ user: USER, pass: PASS }), says: 'has no usable credentials' },
    {
      name: 'CR/LF inside a token',
      data: b64({ token: `${TOKEN}\r\nX-Injected: 1` }),
      says: 'key "token" contains a control character',
    },
    {
      name: 'a tab inside a password',
      data: b64({ username: USER, password: `${PASS}\tx` }),
      says: 'key "password" contains a control character',
    },
    {
      name: 'NUL in a username',
      data: b64({ username: `${USER}\u0000`, password: PASS }),
      says: 'key "username" contains a control character',
    },
  ])('refuses $name, naming the Secret and never a value', ({ data, says }) => {
    let error: unknown;
    try {
      credentialsFromSecretData('mlflow-auth', data);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CredentialsError);
    const message = (error as Error).message;
    expect(message).toContain('Secret "mlflow-auth"');
    expect(message).toContain(says);
    const secrets = [USER, PASS, TOKEN, ...Object.values(data ?? {})];
    for (const secret of secrets) expect(message).not.toContain(secret);
    expect(String((error as Error).stack)).not.toContain(PASS);
  });
});
