// A builder whose every start is a new build; the test decides how each ends.
import type { Builder, BuildRequest, BuildState, CancelTarget } from '../../../src/builders/builder.js';

export class FakeBuilder implements Builder<unknown> {
  readonly pollIntervalMs = 0;
  readonly starts: BuildRequest<unknown>[] = [];
  readonly observed: string[] = [];
  readonly states = new Map<string, BuildState>();
  readonly cancelled: string[] = [];
  /** What find() answers: the request's own build, as a crash may have left it. */
  own: { name: string; startedAt: string } | undefined;
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

  async find(): Promise<{ name: string; startedAt: string } | undefined> {
    return this.own;
  }

  async cancel(_target: CancelTarget, name: string): Promise<void> {
    this.cancelled.push(name);
    this.states.delete(name);
  }

  /** Ends the last build started. */
  finish(state: BuildState): void {
    this.states.set(`${this.kind}-build-${this.starts.length}`, state);
  }
}
