// Which ModelDeployments a webhook event wakes: same model, same server (however the URI is spelt).
import { describe, expect, it } from '@jest/globals';
import type { ModelDeployment } from '../../../src/api/v1alpha1/modelDeployment.js';
import { followersOf, sameServer } from '../../../src/controller/webhookWakes.js';

const md = (name: string, model: string, trackingUri: string) =>
  ({
    metadata: { name, namespace: 'ml' },
    spec: { model: { name: model, alias: 'champion' }, registry: { trackingUri } },
  }) as unknown as ModelDeployment;

describe('followersOf', () => {
  const all = [
    md('a', 'churn', 'https://mlflow.example.com'),
    md('b', 'churn', 'https://mlflow.example.com/'),
    md('c', 'churn', 'https://other.example.com'),
    md('d', 'fraud', 'https://mlflow.example.com'),
    md('e', 'churn', 'https://mlflow.example.com/prefix'),
  ];

  it('wakes the followers of the model on that server only', () => {
    expect(followersOf('https://mlflow.example.com', 'churn', all)).toEqual(['ml/a', 'ml/b']);
    expect(followersOf('https://mlflow.example.com/prefix/', 'churn', all)).toEqual(['ml/e']);
  });

  it('a source that is no URL wakes nobody', () => {
    expect(followersOf('not a url', 'churn', all)).toEqual([]);
  });

  it('credentials in a URI do not make another server', () => {
    expect(sameServer('https://user:pw@mlflow.example.com/')).toBe(sameServer('https://mlflow.example.com'));
  });
});
