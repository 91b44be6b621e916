// client-node 1.x/2.x throws ApiException with a numeric `code` and the raw response text as `body`.
import { ApiException } from '@kubernetes/client-node';

export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
export const isForbidden = (err: unknown): boolean => statusCodeOf(err) === 403;

/** The apiserver's own message from a V1Status body, falling back to the exception text. */
export function kubeMessageOf(err: unknown): string {
  if (err instanceof ApiException && typeof err.body === 'string') {
    try {
      const status = JSON.parse(err.body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // not JSON: use the exception's message
    }
  }
  return err instanceof Error ? err.message : String(err);
}
