// A policy looks at one gathered input and either names a reason to act or returns null.
// Chains are evaluated in order; the first reason wins (cert-manager's "should reissue?" shape).
export interface PolicyReason {
  reason: string;
  message: string;
}

export type Policy<I> = (input: I) => PolicyReason | null;

export function firstReason<I>(chain: readonly Policy<I>[], input: I): PolicyReason | null {
  for (const policy of chain) {
    const reason = policy(input);
    if (reason) return reason;
  }
  return null;
}
