// A builder whose every start is a new build; the test decides how each ends.
import type { Builder, BuildRequest, BuildState } from '../../../src/builders/builder.js';

export class FakeBuilder implements Builder<unknown> {
  readonly pollIntervalMs = 0;
  readonly starts: BuildRequest<unknown>[] = [];
  readonly observed: string[] = [];
  readonly states = new Map<string, BuildState>();
  constructor(readonly kind: 'kaniko' | 'codebuild') {}

  async start(req: BuildRequest<unknown>): Promise<string> {
    this.starts.push(req);
    const name = `${this.kind}-build-${this.starts.length}`;
    this.states.set(name, { phase: 'Running', message: `${name} is running` });
    return name;
  }

  async observe(_req: BuildRequest<unknown>, name: string): Promise<BuildState> {
    this.observed.push(name);
    return this.states.get(name) ?? { phase: 'Missing' };
  }

  /** Ends the last build started. */
  finish(state: BuildState): void {
    this.states.set(`${this.kind}-build-${this.starts.length}`, state);
  }
}
