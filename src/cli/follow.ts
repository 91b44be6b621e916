// get --watch: list the one object, then watch it from that resourceVersion and hand every
// version of it to `show`, until the signal aborts. A watch the server ends (it is asked to,
// every few seconds) resumes from the last resourceVersion seen; an expired one (410, or an ERROR
// event) lists again. Failures in a row end it with the last one.
import type { ModelDeployment } from '../api/v1alpha1/modelDeployment.js';
import { CliError, type MdApi, type WatchEnd } from './client.js';

/** Failed watches in a row, each followed by a new list, before giving up. */
const MAX_FAILURES = 3;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export interface FollowOptions {
  signal: AbortSignal;
  /** The object as it is now; undefined while it does not exist. */
  show(md: ModelDeployment | undefined): void;
  sleep?: (ms: number) => Promise<void>;
}

export async function follow(
  api: Pick<MdApi, 'namespace' | 'list' | 'watch'>,
  name: string,
  { signal, show, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) }: FollowOptions,
): Promise<void> {
  let listed = await api.list(name);
  if (!listed.md) throw new CliError(`modeldeployment "${name}" not found in namespace "${api.namespace}"`);
  show(listed.md);
  let resourceVersion = listed.resourceVersion;
  let failures = 0;
  while (!signal.aborted) {
    const watched = await watchOnce(api, name, resourceVersion, signal, show);
    if (signal.aborted) return;
    resourceVersion = watched.resourceVersion;
    const { end } = watched;
    if (end.kind === 'closed') {
      failures = 0;
      continue;
    }
    if (end.kind === 'failed') {
      failures = watched.events > 0 ? 1 : failures + 1;
      if (failures >= MAX_FAILURES) throw new CliError(end.message);
      await sleep(1000 * failures);
      if (signal.aborted) return;
    }
    listed = await api.list(name);
    show(listed.md);
    resourceVersion = listed.resourceVersion;
  }
}

interface Watched {
  end: WatchEnd;
  resourceVersion: string;
  events: number;
}

function watchOnce(
  api: Pick<MdApi, 'watch'>,
  name: string,
  from: string,
  signal: AbortSignal,
  show: (md: ModelDeployment | undefined) => void,
): Promise<Watched> {
  return new Promise((resolve) => {
    let resourceVersion = from;
    let events = 0;
    let expired = false;
    let controller: AbortController | undefined;
    const stop = () => controller?.abort();
    signal.addEventListener('abort', stop, { once: true });
    void api
      .watch(name, from, {
        event(type, object) {
          if (type === 'ERROR') {
            expired = true; // a Status, usually 410 Gone: our resourceVersion is too old
            stop();
            return;
          }
          const md = object as ModelDeployment | undefined;
          if (md?.metadata?.resourceVersion) resourceVersion = md.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          events++;
          show(type === 'DELETED' ? undefined : md);
        },
        done(end) {
          signal.removeEventListener('abort', stop);
          resolve({ end: expired ? { kind: 'expired' } : end, resourceVersion, events });
        },
      })
      .then((c) => {
        controller = c;
        if (signal.aborted || expired) c.abort();
      });
  });
}

/** What to write for a frame: nothing when it repeats the last one; on a terminal, the screen
 * cleared first; into a pipe or file, a blank line between frames. */
export function framer(tty: boolean): (frame: string) => string | undefined {
  let last: string | undefined;
  return (frame) => {
    if (frame === last) return undefined;
    const out = tty ? CLEAR_SCREEN + frame : (last === undefined ? '' : '\n') + frame;
    last = frame;
    return out;
  };
}
