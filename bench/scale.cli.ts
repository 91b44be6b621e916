// The scale benchmark: one command, one table (see scale.measure.ts for what is measured).
//
//   npm run bench -- [--sizes 100,1000] [--poll-seconds 30] [--no-airflow] …
//
// The report goes to stdout, progress to stderr. Only 127.0.0.1 is ever contacted.
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseScaleOptions, renderScaleReport, scaleArgs, scaleUsage } from './scale.lib.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function main(): Promise<void> {
  const options = parseScaleOptions(process.argv.slice(2));
  if (options === 'help') {
    out(scaleUsage);
    return;
  }
  process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
  const { ScaleBench } = await import('./scale.measure.js');
  const { comparePipelines } = await import('./scale.pipeline.js');
  const bench = new ScaleBench(options, progress);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: cleaning up`);
    void bench.cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const report = await bench.run(() => comparePipelines(options, progress));
    const args = scaleArgs(options);
    out(renderScaleReport(report, `npm run bench${args ? ` -- ${args}` : ''}`));
  } finally {
    if (!interrupted) await bench.cleanUp();
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  process.stderr.write(`\nbench: FAILED: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
