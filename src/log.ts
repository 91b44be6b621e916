// JSON logs with pino. Secret-looking fields are redacted wherever they appear.
import { pino, type Logger } from 'pino';

export function makeLogger(level: string): Logger {
  return pino({
    level,
    base: { component: 'mlflow-model-operator' },
    redact: {
      paths: ['*.password', '*.token', '*.authorization', '*.headers.authorization', '*.data'],
      censor: '[redacted]',
    },
  });
}
