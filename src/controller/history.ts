// status.history: finished runs, newest first, bounded.
import type { ModelDeploymentStatus } from '../api/v1alpha1/modelDeployment.js';
import type { Run } from '../api/v1alpha1/pipeline.js';

export function recordRun(status: ModelDeploymentStatus, run: Run, limit = 10): void {
  status.history = [run, ...(status.history ?? [])].slice(0, limit);
}
