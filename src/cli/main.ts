// The plugin without the process: argv and the outside world (streams, clock, apiserver) in, an
// exit code out, so tests can run every command against fakes.
import {
  APPROVE_ANNOTATION,
  RETRY_ANNOTATION,
  type ModelDeployment,
} from '../api/v1alpha1/modelDeployment.js';
import { approvedText, retriedText, versionToApprove } from './actions.js';
import { parseArgs, USAGE, type Command, type Target } from './args.js';
import { CliError, describeFailure, type MdApi } from './client.js';
import { follow, framer } from './follow.js';
import { oneLine } from './format.js';
import { renderGet, renderGone, renderHistory } from './render.js';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  /** "Now" for every duration shown and for the retry token. */
  clock: () => Date;
  connect: (target: Target) => MdApi;
  /** Ends get --watch; without it, the watch runs until the process is interrupted. */
  signal?: AbortSignal;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (parsed.kind === 'usage') {
    io.stderr.write(`error: ${parsed.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    await run(parsed.command, io.connect(parsed.target), io);
    return EXIT_OK;
  } catch (err) {
    // One line, whatever the error: a kubeconfig YAML error spans several.
    io.stderr.write(`error: ${oneLine(describeFailure(err, undefined), 1000)}\n`);
    return EXIT_FAILED;
  }
}

async function run(command: Command, api: MdApi, io: Io): Promise<void> {
  const { md: name } = command;
  switch (command.name) {
    case 'get':
      if (command.watch) return watch(api, name, io);
      io.stdout.write(renderGet(await api.get(name), io.clock()));
      return;
    case 'history': {
      const table = renderHistory(await api.get(name), io.clock());
      if (table) io.stdout.write(table);
      else io.stderr.write(`No deployment runs of ${name} in namespace ${api.namespace} yet.\n`);
      return;
    }
    case 'approve': {
      const current = command.version === undefined ? await api.get(name) : undefined;
      const decision = versionToApprove(current, name, command.version);
      if ('error' in decision) throw new CliError(decision.error);
      const patched = await api.annotate(name, { [APPROVE_ANNOTATION]: decision.version });
      io.stdout.write(approvedText(patched, decision.version));
      return;
    }
    case 'retry': {
      // A new value is what the operator reacts to; a timestamp is new and says when.
      const token = io.clock().toISOString();
      const patched = await api.annotate(name, { [RETRY_ANNOTATION]: token });
      io.stdout.write(retriedText(patched, token));
      return;
    }
  }
}

const REDRAW_MS = 1000;

async function watch(api: MdApi, name: string, io: Io): Promise<void> {
  const tty = Boolean(io.stdout.isTTY);
  const frames = framer(tty);
  let latest: ModelDeployment | undefined;
  let listed = false;
  const draw = () => {
    if (!listed) return;
    const frame = latest ? renderGet(latest, io.clock()) : renderGone(api.namespace, name);
    const out = frames(frame);
    if (out !== undefined) io.stdout.write(out);
  };
  // On a terminal the frame is redrawn in place, so the durations of a running step can tick;
  // into a pipe only a change of the object makes a new frame.
  const ticker = tty ? setInterval(draw, REDRAW_MS) : undefined;
  try {
    await follow(api, name, {
      signal: io.signal ?? new AbortController().signal,
      show: (md) => {
        latest = md;
        listed = true;
        draw();
      },
    });
  } finally {
    clearInterval(ticker);
  }
}
