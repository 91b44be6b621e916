// ECR calls as the steps make them: a refusal the user must fix (access, a name ECR does not
// accept) stalls with what to check; anything else is transient and retried with backoff.
import { Reason } from '../api/v1alpha1/conditions.js';
import { EcrError } from '../clients/ecr.js';
import { Stalling, Transient } from '../runtime/errors.js';

export async function fromEcr<T>(call: () => Promise<T>, check: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof EcrError) {
      if (err.userError) throw new Stalling(Reason.EcrRequestRefused, `${err.message}; check ${check}`);
      throw new Transient(Reason.EcrUnavailable, err.message, { cause: err });
    }
    throw err;
  }
}
