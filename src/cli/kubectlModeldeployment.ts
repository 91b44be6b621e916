#!/usr/bin/env node
// kubectl plugin: `kubectl modeldeployment get|history|approve|retry NAME`. kubectl runs any
// executable named kubectl-<word> on PATH for `kubectl <word>`; npm puts this one there (the
// package's `bin`). Ctrl-C ends get --watch the default way: the last frame stays on screen.
import { connect } from './client.js';
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  clock: () => new Date(),
  connect,
});
