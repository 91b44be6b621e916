// Are the new Pods of a rollout crash-looping? Pure; table-tested. The Deployment controller
// only gives up at the progress deadline (ten minutes by default), while an app that cannot
// start restarts within seconds: counting restarts fails such a rollout long before.
import type { V1Pod } from '@kubernetes/client-node';

/** What to say about the first Pod whose `container` restarted at least `maxRestarts` times, or
 * undefined when none did. */
export function judgeCrashLoop(
  pods: readonly V1Pod[],
  container: string,
  maxRestarts: number,
): string | undefined {
  for (const pod of pods) {
    const status = pod.status?.containerStatuses?.find((c) => c.name === container);
    if (!status || status.restartCount < maxRestarts) continue;
    const last = status.lastState?.terminated;
    const how = last
      ? `; it last ended with exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}` +
        (last.message?.trim() ? `: ${last.message.trim()}` : '')
      : '';
    return `container "${container}" of Pod "${pod.metadata?.name}" restarted ${status.restartCount} times${how}`;
  }
  return undefined;
}
