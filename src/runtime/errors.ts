// Typed reconcile errors decide how a failure is reported and retried:
//   Stalling: the user must act (fix the spec, a Secret, the registry); no fast retry.
//   Waiting:  nothing is wrong, something is not ready yet; look again after `afterMs`.
//   anything else: transient; retry with exponential backoff.
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

export class Waiting extends Error {
  override readonly name = 'Waiting';
  constructor(
    readonly reason: string,
    message: string,
    readonly afterMs: number,
  ) {
    super(message);
  }
}

/** A transient error with a reason worth showing in conditions (the default is "ReconcileError"). */
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

export function reasonOf(err: unknown): string {
  if (err instanceof Stalling || err instanceof Waiting || err instanceof Transient) return err.reason;
  return 'ReconcileError';
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
