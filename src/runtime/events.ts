// Records core/v1 Events on an object, the kind `kubectl describe` and `kubectl events` show.
// Identical events (same object, type, reason, message) within a short window are folded into
// one with a count, as client-go's recorder does, so a retry loop cannot flood the apiserver.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { cleanMessage, describeError } from './errors.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recent = new Map<string, { name: string; count: number; at: number }>();

  constructor(
    private readonly api: CoreV1Api,
    private readonly component: string,
    private readonly log: Logger,
    private readonly foldWindowMs = 10 * 60_000,
  ) {}

  /** Best effort: a failed Event is logged, never fails the reconcile. */
  async record(target: EventTarget, type: EventType, reason: string, text: string): Promise<void> {
    const { namespace, name, uid } = target.metadata;
    const message = cleanMessage(text);
    const key = [namespace, name, uid, type, reason, message].join('\u0000');
    const now = new Date();
    const seen = this.recent.get(key);
    try {
      if (seen && now.getTime() - seen.at < this.foldWindowMs) {
        seen.count++;
        seen.at = now.getTime();
        await this.api.patchNamespacedEvent(
          { namespace, name: seen.name, body: { count: seen.count, lastTimestamp: now } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      }
      const eventName = `${name}.${randomBytes(8).toString('hex')}`;
      await this.api.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: eventName, namespace },
          involvedObject: {
            apiVersion: target.apiVersion,
            kind: target.kind,
            name,
            namespace,
            ...(uid ? { uid } : {}),
          },
          type,
          reason,
          message,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.recent.set(key, { name: eventName, count: 1, at: now.getTime() });
      this.prune(now.getTime());
    } catch (err) {
      this.log.warn(
        { error: describeError(err), reason, object: `${namespace}/${name}` },
        'Failed to record Event',
      );
    }
  }

  private prune(now: number): void {
    for (const [key, entry] of this.recent) if (now - entry.at >= this.foldWindowMs) this.recent.delete(key);
  }
}
