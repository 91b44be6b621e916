// What ensureImage does next for the run's version, and what a build's state means. Pure;
// table-tested. The I/O (ECR look-ups, starting and observing builds) stays in the step.
import { Reason } from '../../api/v1alpha1/conditions.js';
import type { BuildStatus, ImageStatus, Run } from '../../api/v1alpha1/pipeline.js';
import type { BuildState } from '../../builders/builder.js';

export interface BuildInput {
  version: string;
  /** status.image and status.build of the current run. */
  image: ImageStatus | undefined;
  build: BuildStatus | undefined;
  nowMs: number;
  /** How often the builder may be asked about a running build (0: watched, ask every time). */
  pollIntervalMs: number;
}

export type BuildAction =
  | { kind: 'haveImage'; ref: string } // the image of this version is recorded: nothing to build
  | { kind: 'lookUp' } // no build yet: reuse the tag if ECR has it, else start a build
  | { kind: 'waitForPoll'; afterMs: number } // a polled build that is not due to be asked again
  | { kind: 'observe'; name: string }; // ask the builder how its build is doing

export function nextBuildAction({ version, image, build, nowMs, pollIntervalMs }: BuildInput): BuildAction {
  if (image?.builtFor === version) return { kind: 'haveImage', ref: image.ref };
  if (build?.version !== version) return { kind: 'lookUp' };
  const sinceStart = nowMs - Date.parse(build.startedAt);
  if (sinceStart < pollIntervalMs) return { kind: 'waitForPoll', afterMs: pollIntervalMs - sinceStart };
  return { kind: 'observe', name: build.name };
}

export type BuildVerdict =
  | { kind: 'use'; digest: string } // built and pushed: deploy this digest
  | { kind: 'restart' } // gone before it pushed: start it again
  | { kind: 'running'; message: string }
  | { kind: 'failed'; reason: Reason; message: string };

/** What an observed build means; `inEcr` is ECR's digest for the tag, asked only for Missing and
 * Succeeded builds (a build cleaned up after it pushed; the builder's word checked). */
export function judgeBuild(state: BuildState, inEcr: string | undefined, image: string): BuildVerdict {
  switch (state.phase) {
    case 'Missing':
      return inEcr ? { kind: 'use', digest: inEcr } : { kind: 'restart' };
    case 'Running':
      return { kind: 'running', message: state.message };
    case 'Failed':
      return { kind: 'failed', reason: state.reason, message: state.message };
    case 'Succeeded':
      if (inEcr === state.digest) return { kind: 'use', digest: state.digest };
      return {
        kind: 'failed',
        reason: Reason.DigestMismatch,
        message: inEcr
          ? `the build reported ${state.digest} but ${image} is ${inEcr} in ECR`
          : `the build reported ${state.digest} but ECR has no ${image}`,
      };
  }
}

/** Whether judging this state needs ECR's digest for the tag. */
export const needsEcrDigest = (state: BuildState): boolean =>
  state.phase === 'Missing' || state.phase === 'Succeeded';

export interface ExistingTagInput {
  /** ECR's digest for the run's tag. */
  digest: string;
  /** The run's image build hash, and whether the tag template carries it. */
  buildHash: string;
  tagHasBuildHash: boolean;
  /** Earlier runs (status.history): which digest each deployed, built from which build hash. */
  history: readonly Run[];
  /** This run's own build (deterministic name), if it exists. */
  ownBuild: { name: string; startedAt: string } | undefined;
  tag: string;
}

export type ExistingTagVerdict =
  | { kind: 'reuse' } // someone else (an earlier run, a person) pushed it: use it without a build
  | { kind: 'ownBuild'; name: string; startedAt: string } // this run's build pushed it: observe it
  | { kind: 'refuse'; reason: Reason; message: string }; // built from another build spec

/** What a tag that already exists in ECR is to this run. Derived from the world and history,
 * never from memory of the attempt: a kill between the push and the status write must not turn
 * a build into a reuse. */
export function judgeExistingTag(i: ExistingTagInput): ExistingTagVerdict {
  const earlier = i.history.filter((run) => run.image?.endsWith(`@${i.digest}`));
  const other = earlier.find((run) => run.buildHash !== undefined && run.buildHash !== i.buildHash);
  if (!i.tagHasBuildHash && other) {
    return {
      kind: 'refuse',
      reason: Reason.TagBuiltFromOtherSpec,
      message:
        `tag ${i.tag} was built from build hash ${other.buildHash as string} (version ${other.version}), ` +
        `not from this build spec (${i.buildHash}); add {buildHash} to spec.image.tagTemplate or use a new tag`,
    };
  }
  // Our build Job for this very request exists and no earlier run deployed its image: it is ours.
  if (i.ownBuild && earlier.length === 0) return { kind: 'ownBuild', ...i.ownBuild };
  return { kind: 'reuse' };
}
