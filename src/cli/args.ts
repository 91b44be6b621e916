// The command line of `kubectl modeldeployment`, parsed without the process: argv in, a command
// or a usage error out. Flags may come before or after the command, as with kubectl.

export const USAGE = `kubectl modeldeployment: look at and act on ModelDeployments (mlops.healthpredict.io)

Usage:
  kubectl modeldeployment get NAME [--watch]      the object and its current run, step by step
  kubectl modeldeployment history NAME            its deployment runs, newest first
  kubectl modeldeployment approve NAME [VERSION]  let a run that waits for approval go on
  kubectl modeldeployment retry NAME              deploy again a version whose run failed

Flags:
  -n, --namespace NS     namespace (default: the kubeconfig context's, else "default")
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME     kubeconfig context (default: the current one)
  -w, --watch            get: draw it again on every change, until Ctrl-C
  -h, --help             print this help

approve without VERSION approves the version the run waits for (phase AwaitingApproval).
Exit codes: 0 done, 1 the apiserver refused or the object is not in a state for it, 2 usage.
`;

export interface Target {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export type Command =
  | { name: 'get'; md: string; watch: boolean }
  | { name: 'history'; md: string }
  | { name: 'approve'; md: string; version?: string }
  | { name: 'retry'; md: string };

export type Parsed =
  { kind: 'help' } | { kind: 'usage'; message: string } | { kind: 'run'; command: Command; target: Target };

const VALUE_FLAGS: Record<string, keyof Target> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--kubeconfig': 'kubeconfig',
  '--context': 'context',
};
const WATCH_FLAGS = new Set(['-w', '--watch']);
const HELP_FLAGS = new Set(['-h', '--help']);
/** MLflow model versions are strings of digits; anything else could never match a run. */
const MODEL_VERSION = /^[0-9]+$/;

export function parseArgs(argv: readonly string[]): Parsed {
  const target: Target = {};
  const words: string[] = [];
  let watch = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (HELP_FLAGS.has(arg)) return { kind: 'help' };
    if (WATCH_FLAGS.has(arg)) {
      watch = true;
      continue;
    }
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      words.push(arg);
      continue;
    }
    if (/^-n[^=-]/.test(arg)) {
      target.namespace = arg.slice(2); // -nNS, as kubectl takes it
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = VALUE_FLAGS[flag];
    if (!key) return usage(`unknown flag ${flag}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') return usage(`flag ${flag} needs a value`);
    target[key] = value;
  }

  const [name, md, ...rest] = words;
  if (name === undefined) return usage('no command given');
  if (name === 'help') return { kind: 'help' };
  if (!['get', 'history', 'approve', 'retry'].includes(name)) return usage(`unknown command "${name}"`);
  if (md === undefined) return usage(`${name} needs the name of a ModelDeployment`);
  if (watch && name !== 'get') return usage(`--watch is a flag of get only`);
  const extra = name === 'approve' ? rest.slice(1) : rest;
  if (extra.length > 0) return usage(`unexpected argument "${extra[0]}"`);

  switch (name) {
    case 'get':
      return { kind: 'run', command: { name, md, watch }, target };
    case 'approve': {
      const version = rest[0];
      if (version !== undefined && !MODEL_VERSION.test(version))
        return usage(`VERSION must be a model version number, e.g. 3 (got "${version}")`);
      return { kind: 'run', command: { name, md, ...(version !== undefined ? { version } : {}) }, target };
    }
    default:
      return { kind: 'run', command: { name: name as 'history' | 'retry', md }, target };
  }
}

const usage = (message: string): Parsed => ({ kind: 'usage', message });
