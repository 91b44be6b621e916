// The seed's pipeline as an Airflow DAG (bench/airflow/), on the bed: a namespace, a registered
// model and a serving Deployment like the operator's runs get, then the DAG's runs.
import { randomBytes } from 'node:crypto';
import { createRepository, registryHost } from '../test/helpers/aws.js';
import { bed } from '../test/helpers/bed.js';
import { createNamespace, deleteNamespace } from '../test/helpers/kubectl.js';
import { MlflowAdmin } from '../test/helpers/mlflowAdmin.js';
import { createServingDeployment } from '../test/helpers/serving.js';
import { measureAirflowPipeline } from './airflowPipeline.js';

export async function airflowRuns(
  runs: number,
  progress: (line: string) => void,
): Promise<{ ms: number[]; cpuSeconds: number; version: string }> {
  const unique = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const mlflow = new MlflowAdmin(bed.mlflowUri.replace(/\/+$/, ''));
  const model = `airflow-${unique}`;
  const namespace = await createNamespace('bench-airflow');
  try {
    await mlflow.createChampionNamed(model);
    await createServingDeployment(namespace, 'api');
    await createRepository(`airflow-${unique}`); // the operator makes its own; the DAG does not
    const result = await measureAirflowPipeline({
      namespace,
      runs,
      warmup: 1,
      progress,
      kubectl: bed.kubectl,
      kubeconfig: bed.kubeconfig,
      trackingUri: mlflow.uri,
      model,
      deployment: 'api',
      container: 'api',
      repository: `${registryHost}/airflow-${unique}`,
    });
    return {
      ms: result.runs.map((r) => r.ms),
      cpuSeconds: result.cpuSeconds,
      version: result.airflowVersion,
    };
  } finally {
    await deleteNamespace(namespace).catch(() => undefined);
    await mlflow.deleteModel(model).catch(() => undefined);
  }
}
