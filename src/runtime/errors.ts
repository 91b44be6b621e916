// Typed reconcile errors decide how a failure is reported and retried:
//   Stalling:  the user must act (fix the spec, a Secret, the registry); no fast retry.
//   Transient: something outside failed; retry with exponential backoff, showing `reason`.
//   anything else: unexpected; retried with backoff like Transient, under a generic reason.
// Waiting on something that is not ready yet is not an error: steps return it as a result.
// Reasons are PascalCase because they become condition and Event reasons; messages say what
// happened and what to do, and never carry a secret.
export class Stalling extends Error {
  override readonly name = 'Stalling';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export class Transient extends Error {
  override readonly name = 'Transient';
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The reason a typed error carries; undefined for any other error. */
export function reasonOf(err: unknown): string | undefined {
  return err instanceof Stalling || err instanceof Transient ? err.reason : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
