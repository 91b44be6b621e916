// A deployment of one version that failed (build, rollout or tests). The user must act, so it
// stalls like any Stalling error, and the run is recorded as failed so the same version with the
// same spec is not built or rolled out again in a loop.
import { Stalling } from '../runtime/errors.js';

export class RunFailed extends Stalling {}
