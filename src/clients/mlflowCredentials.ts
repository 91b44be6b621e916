// Turns the data of a credentials Secret into MLflow auth, the way MLflow's own client chooses:
// username + password (basic) wins over token (bearer). Values are never put in errors.
import type { MlflowAuth } from './mlflow.js';

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

export function credentialsFromSecretData(
  secretName: string,
  data: Record<string, string> | undefined,
): MlflowAuth {
  const get = (key: string) => {
    const raw = data?.[key];
    return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8').trim();
  };
  // A control character (CR, LF, …) cannot travel in an HTTP header; say which key, never the value.
  for (const key of ['username', 'password', 'token']) {
    if (hasControlCharacter(get(key) ?? '')) {
      throw new CredentialsError(
        `Secret "${secretName}" key "${key}" contains a control character (CR, LF, tab, …); store the value without it`,
      );
    }
  }
  const username = get('username');
  const password = get('password');
  const token = get('token');
  if (username && password) return { kind: 'basic', username, password };
  if (username || password) {
    throw new CredentialsError(
      `Secret "${secretName}" has only one of "username" and "password"; basic auth needs both`,
    );
  }
  if (token) return { kind: 'bearer', token };
  throw new CredentialsError(
    `Secret "${secretName}" has no usable credentials: set "username" and "password" (basic auth) or "token" (bearer)`,
  );
}

const hasControlCharacter = (value: string): boolean =>
  [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
