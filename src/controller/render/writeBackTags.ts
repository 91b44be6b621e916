// The tags a finished run leaves on its model version in MLflow (spec.registry.writeBack). Pure.
import type { Run } from '../../api/v1alpha1/pipeline.js';

export function writeBackTags(
  prefix: string,
  run: Run,
  target: { namespace: string; deployment: string | undefined },
): Record<string, string> {
  return {
    [`${prefix}.status`]: run.result ?? 'Unknown',
    ...(run.image ? { [`${prefix}.image`]: run.image } : {}),
    [`${prefix}.deployedAt`]: run.finishedAt ?? run.startedAt,
    [`${prefix}.target`]: `${target.namespace}/${target.deployment ?? '(resolve only)'}`,
  };
}

/** Which run a write-back was for: a version may be run more than once. */
export const runKey = (run: Run): string => `${run.version}@${run.startedAt}`;
