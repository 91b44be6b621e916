// Pipeline orchestration overhead on the test bed: wall time of a full pipeline run
// (ModelDeployment created → status.phase Succeeded) minus the time the build Job, the rollout
// and the test Job themselves took, i.e. what the operator adds around the work it orchestrates.
//
//   npm run bench:pipeline -- --runs 5 [--parallel] [--warmup N]
//
// The report goes to stdout, progress to stderr. Only 127.0.0.1 is ever contacted.
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { BenchError, parseOptions, report, reproduceCommands, usage } from './pipelineOverhead.lib.js';

const MIN_NODE = 24; // the operator and undici need it (package.json engines)

const out = (s: string) => process.stdout.write(`${s}\n`);
const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    out(usage);
    return;
  }
  if (Number(process.versions.node.split('.')[0]) < MIN_NODE)
    throw new BenchError(
      `Node ${process.version} is too old (>= ${MIN_NODE} needed): ${reproduceCommands(options).npm} ` +
        "runs the repo's Node 24",
    );
  // The helpers run dist/main.js and kubectl apply crds/ relative to the repository root.
  process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
  // Loaded only now, so an old Node gets the message above rather than a syntax error.
  const { measure } = await import('./pipelineOverhead.measure.js');
  const input = await measure(options, progress);
  if (input) out(report(input));
}

try {
  await main();
} catch (err) {
  process.stderr.write(
    `\nbench: FAILED: ${err instanceof BenchError ? err.message : ((err as Error)?.stack ?? String(err))}\n`,
  );
  process.exitCode = 1;
}
