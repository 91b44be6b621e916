// A bad setting stops the built operator at once, with a message naming the setting.
import { spawnSync } from 'node:child_process';

test.each([
  [{ LOG_LEVEL: 'loud' }, [], 'LOG_LEVEL'],
  [{}, ['--resync-period=soon'], 'RESYNC_PERIOD'],
  [{ LEASE_DURATION: '5s', RENEW_DEADLINE: '10s' }, [], 'RENEW_DEADLINE: must be less than LEASE_DURATION'],
  [{}, ['--unknown-flag=1'], 'unknown flag --unknown-flag'],
])('%j %j → exit 2 naming %s', (env, argv, says) => {
  const r = spawnSync(process.execPath, ['dist/main.js', ...argv], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(says);
});
