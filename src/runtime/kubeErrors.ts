// client-node 1.x/2.x throws ApiException with a numeric `code` and the raw response text as
// `body`; its `message` dumps the body and every response header, so it is never shown as is.
import { ApiException } from '@kubernetes/client-node';

export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
export const isForbidden = (err: unknown): boolean => statusCodeOf(err) === 403;

/** The parts of a metav1.Status the operator reads. */
interface KubeStatus {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; group?: string; causes?: { field?: string; message?: string }[] };
}

function statusOf(err: unknown): KubeStatus | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (body && typeof body === 'object') return body as KubeStatus;
  if (typeof body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as KubeStatus) : undefined;
  } catch {
    return undefined; // not JSON (a proxy's error page)
  }
}

/** The apiserver's own message from a V1Status body; never the exception's header dump. */
export function kubeMessageOf(err: unknown): string {
  if (err instanceof ApiException) return statusOf(err)?.message || `HTTP ${err.code}`;
  return err instanceof Error ? err.message : String(err);
}

/** "<code> <apiserver message>" for an apiserver answer, undefined for any other error. */
export function apiErrorText(err: unknown): string | undefined {
  return err instanceof ApiException ? `${err.code} ${kubeMessageOf(err)}` : undefined;
}

/** A JSON patch whose `test` op failed: 422 Invalid with no object named and no causes, unlike
 * a validation failure, which names the object and lists its causes. */
export function isPatchTestFailure(err: unknown): boolean {
  if (statusCodeOf(err) !== 422) return false;
  const status = statusOf(err);
  return !status?.details?.name && !status?.details?.causes?.length;
}

/** A guarded write lost to a change made since our read: 409 Conflict (resourceVersion), or a
 * failed JSON patch `test`. Read again and retry; never a verdict on the object itself. */
export const isStaleWrite = (err: unknown): boolean => isConflict(err) || isPatchTestFailure(err);

/** The apiserver refused an object as invalid (400 Bad Request, 422 Unprocessable): sending it
 * again cannot succeed. A failed JSON patch `test` is not: it says the object moved. */
export function isInvalidObject(err: unknown): boolean {
  const code = statusCodeOf(err);
  return err instanceof ApiException && (code === 400 || code === 422) && !isPatchTestFailure(err);
}

/** Why the apiserver refused an object, deterministically: its causes sorted and deduplicated
 * (the apiserver lists map keys in random order), else its message. */
export function rejectionMessageOf(err: unknown): string {
  const status = statusOf(err);
  const causes = [
    ...new Set(
      (status?.details?.causes ?? [])
        .map((c) => [c.field, c.message].filter(Boolean).join(': '))
        .filter(Boolean),
    ),
  ].sort();
  if (causes.length === 0) return kubeMessageOf(err);
  const { kind, group, name } = status?.details ?? {};
  const what = kind ? `${kind}${group ? `.${group}` : ''}${name ? ` "${name}"` : ''}` : 'the object';
  return `${what} is invalid: ${causes.join('; ')}`;
}
