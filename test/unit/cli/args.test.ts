// parseArgs: one row per command line, with the command or the usage error it gives.
import { describe, expect, it } from '@jest/globals';
import { parseArgs, type Parsed } from '../../../src/cli/args.js';

const run = (command: object, target: object = {}): Parsed => ({ kind: 'run', command, target }) as Parsed;
const usage = (message: string): Parsed => ({ kind: 'usage', message });

describe('parseArgs', () => {
  const table: [string, string[], Parsed][] = [
    ['get', ['get', 'iris'], run({ name: 'get', md: 'iris', watch: false })],
    ['get --watch', ['get', 'iris', '--watch'], run({ name: 'get', md: 'iris', watch: true })],
    ['get -w before the name', ['get', '-w', 'iris'], run({ name: 'get', md: 'iris', watch: true })],
    ['history', ['history', 'iris'], run({ name: 'history', md: 'iris' })],
    ['retry', ['retry', 'iris'], run({ name: 'retry', md: 'iris' })],
    ['approve without a version', ['approve', 'iris'], run({ name: 'approve', md: 'iris' })],
    ['approve a version', ['approve', 'iris', '12'], run({ name: 'approve', md: 'iris', version: '12' })],
    [
      '-n NS',
      ['-n', 'ml', 'get', 'iris'],
      run({ name: 'get', md: 'iris', watch: false }, { namespace: 'ml' }),
    ],
    ['-n=NS', ['get', 'iris', '-n=ml'], run({ name: 'get', md: 'iris', watch: false }, { namespace: 'ml' })],
    ['-nNS', ['get', 'iris', '-nml'], run({ name: 'get', md: 'iris', watch: false }, { namespace: 'ml' })],
    [
      '--namespace NS after the name',
      ['retry', 'iris', '--namespace', 'ml'],
      run({ name: 'retry', md: 'iris' }, { namespace: 'ml' }),
    ],
    [
      '--kubeconfig and --context=',
      ['--kubeconfig', '/tmp/kc', '--context=bed', 'history', 'iris'],
      run({ name: 'history', md: 'iris' }, { kubeconfig: '/tmp/kc', context: 'bed' }),
    ],
    ['-- ends the flags', ['get', '--', '-odd-name'], run({ name: 'get', md: '-odd-name', watch: false })],
    ['-h', ['get', 'iris', '-h'], { kind: 'help' }],
    ['--help alone', ['--help'], { kind: 'help' }],
    ['help', ['help'], { kind: 'help' }],
    ['nothing', [], usage('no command given')],
    ['unknown command', ['promote', 'iris'], usage('unknown command "promote"')],
    ['unknown flag', ['get', 'iris', '-o', 'yaml'], usage('unknown flag -o')],
    ['unknown long flag', ['get', 'iris', '--output=yaml'], usage('unknown flag --output')],
    ['flag without its value', ['get', 'iris', '-n'], usage('flag -n needs a value')],
    ['flag with an empty value', ['get', 'iris', '--namespace='], usage('flag --namespace needs a value')],
    ['no name', ['get'], usage('get needs the name of a ModelDeployment')],
    ['--watch on another command', ['history', 'iris', '-w'], usage('--watch is a flag of get only')],
    ['two names', ['get', 'iris', 'other'], usage('unexpected argument "other"')],
    ['retry takes no version', ['retry', 'iris', '3'], usage('unexpected argument "3"')],
    ['approve takes one version', ['approve', 'iris', '3', '4'], usage('unexpected argument "4"')],
    [
      'a version must be a number',
      ['approve', 'iris', 'v3'],
      usage('VERSION must be a model version number, e.g. 3 (got "v3")'),
    ],
  ];

  it.each(table)('%s', (_case, argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });
});
