// Changes the registry the way a data scientist would, through MLflow's REST API.
import { request } from 'undici';
import { waitFor } from './wait.js';

interface VersionInfo {
  version: string;
  source: string;
  run_id?: string;
  status?: string;
}

export class MlflowAdmin {
  constructor(
    readonly uri: string,
    private readonly basicAuth?: { username: string; password: string },
  ) {}

  private async call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const url = new URL(`${this.uri}/api/2.0/mlflow${path}`);
    if (method === 'GET' && body)
      for (const [k, v] of Object.entries(body as object)) url.searchParams.set(k, String(v));
    const res = await request(url, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(this.basicAuth
          ? {
              authorization: `Basic ${Buffer.from(`${this.basicAuth.username}:${this.basicAuth.password}`).toString('base64')}`,
            }
          : {}),
      },
      ...(method !== 'GET' && body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`MLflow ${method} ${path} -> ${res.statusCode}: ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  async createModel(name: string): Promise<void> {
    await this.call('POST', '/registered-models/create', { name });
  }

  /** A new version pointing at `source`; returns its number. */
  async createVersion(name: string, source: string, runId?: string, modelId?: string): Promise<string> {
    const r = await this.call('POST', '/model-versions/create', {
      name,
      source,
      ...(runId ? { run_id: runId } : {}),
      ...(modelId ? { model_id: modelId } : {}),
    });
    return (r.model_version as { version: string }).version;
  }

  /** A new version with the same artifacts as `fromVersion`: a retrain that changed nothing. */
  async copyVersion(name: string, fromVersion: string): Promise<string> {
    const v = await this.getVersion(name, fromVersion);
    // MLflow 3 refuses a `models:/m-…` source unless model_id names that logged model.
    const modelId = /^models:\/(m-[0-9a-f]+)$/.exec(v.source)?.[1];
    return this.createVersion(name, v.source, v.run_id, modelId);
  }

  /** A new version logged by a fresh run (MLflow 3 wants the run that holds the source). */
  async createRunVersion(name: string): Promise<{ version: string; runId: string }> {
    const r = await this.call('POST', '/runs/create', { experiment_id: '0' });
    const info = (r.run as { info: { run_id: string; artifact_uri: string } }).info;
    const version = await this.createVersion(name, `${info.artifact_uri}/model`, info.run_id);
    return { version, runId: info.run_id };
  }

  /** Logs `value` for metric `key` on a run, as a training script would. */
  async logMetric(runId: string, key: string, value: number): Promise<void> {
    await this.call('POST', '/runs/log-metric', {
      run_id: runId,
      key,
      value,
      timestamp: Date.now(),
      step: 0,
    });
  }

  /** A registered model of its own (`<prefix>-<time>`) with version 1 behind alias champion. */
  async createChampion(prefix: string): Promise<{ name: string; version: string; runId: string }> {
    const name = `${prefix}-${Date.now().toString(36)}`;
    return { name, ...(await this.createChampionNamed(name)) };
  }

  /** Registered model `name` with version 1, logged by a fresh run, behind alias champion. */
  async createChampionNamed(name: string): Promise<{ version: string; runId: string }> {
    await this.createModel(name);
    const { version, runId } = await this.createRunVersion(name);
    await this.setAlias(name, 'champion', version);
    return { version, runId };
  }

  /** A webhook (MLflow >= 3.3, SQL backends) for registry events such as `model_version_alias.created`. */
  async createWebhook(name: string, url: string, events: string[], secret: string): Promise<string> {
    const r = await this.call('POST', '/webhooks', {
      name,
      url,
      secret,
      events: events.map((e) => {
        const [entity, action] = e.split('.') as [string, string];
        return { entity: entity.toUpperCase(), action: action.toUpperCase() };
      }),
    });
    return (r.webhook as { webhook_id: string }).webhook_id;
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.call('DELETE', `/webhooks/${id}`);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', '/registered-models/alias', { name, alias });
  }

  async deleteModel(name: string): Promise<void> {
    await this.call('DELETE', '/registered-models/delete', { name });
  }

  /** The operator deploys only READY versions; wait for that so no run starts on VersionNotReady. */
  async waitUntilReady(name: string, version: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `MLflow version ${name}/${version} to be READY`,
      async () => (await this.getVersion(name, version)).status === 'READY',
      { timeoutMs, intervalMs: 100 },
    );
  }

  async getVersion(name: string, version: string): Promise<VersionInfo> {
    const r = await this.call('GET', '/model-versions/get', { name, version });
    return r.model_version as VersionInfo;
  }

  /** The tags of a model version, as a map. */
  async versionTags(name: string, version: string): Promise<Record<string, string>> {
    const r = await this.call('GET', '/model-versions/get', { name, version });
    const tags = (r.model_version as { tags?: { key: string; value: string }[] }).tags ?? [];
    return Object.fromEntries(tags.map((t) => [t.key, t.value]));
  }

  /** A user of MLflow's basic-auth app (with its default permission, READ on the bed's server). */
  async createUser(username: string, password: string): Promise<void> {
    await this.call('POST', '/users/create', { username, password });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', '/registered-models/alias', { name, alias, version });
  }

  async transition(name: string, version: string, stage: string): Promise<void> {
    await this.call('POST', '/model-versions/transition-stage', {
      name,
      version,
      stage,
      archive_existing_versions: true,
    });
  }

  async versionByAlias(name: string, alias: string): Promise<string> {
    const r = await this.call('GET', '/registered-models/alias', { name, alias });
    return (r.model_version as { version: string }).version;
  }

  async latestInStage(name: string, stage: string): Promise<string | undefined> {
    const r = await this.call('GET', '/registered-models/get-latest-versions', { name, stages: stage });
    const versions = (r.model_versions as { version: string }[] | undefined) ?? [];
    return versions.map((v) => v.version).sort((a, b) => Number(b) - Number(a))[0];
  }
}
