// The ready-to-paste argocd-cm snippet is generated from the Lua health check and the Lua resource
// actions; no servers needed.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ACTION_NAMES, ACTIONS_DIR, ACTIONS_KEY, argocdDiscover } from '../../helpers/argocdActions.js';
import { HEALTH_KEY, HEALTH_SCRIPT, HEALTH_SNIPPET } from '../../helpers/argocdHealth.js';

const snippet = () => parse(readFileSync(HEALTH_SNIPPET, 'utf8')) as { data: Record<string, string> };

describe('the argocd-cm snippet', () => {
  test('is what health/argocd/gen-snippet.sh generates (regenerate with it)', () => {
    execFileSync('bash', ['health/argocd/gen-snippet.sh', '--check'], { stdio: 'pipe' });
    expect(Object.keys(snippet().data)).toEqual([HEALTH_KEY, ACTIONS_KEY]);
  });

  test('inlines exactly health/argocd/modeldeployment.lua as the health check', () => {
    expect(snippet().data[HEALTH_KEY]).toBe(readFileSync(HEALTH_SCRIPT, 'utf8'));
  });

  test('inlines exactly actions/discovery.lua and each actions/NAME/action.lua, in Argo CD’s format', () => {
    const actions = parse(snippet().data[ACTIONS_KEY] ?? '') as unknown;
    expect(actions).toEqual({
      'discovery.lua': readFileSync(`${ACTIONS_DIR}/discovery.lua`, 'utf8'),
      definitions: ACTION_NAMES.map((name) => ({
        name,
        'action.lua': readFileSync(`${ACTIONS_DIR}/${name}/action.lua`, 'utf8'),
      })),
    });
  });

  test('defines every action discovery.lua lists, and no other', () => {
    expect(argocdDiscover({ metadata: { name: 'md' } }).map((a) => a.name)).toEqual([...ACTION_NAMES]);
  });

  test('gen-snippet.sh refuses a Lua file the YAML block would not give back byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-snippet-'));
    try {
      cpSync('health/argocd', dir, { recursive: true });
      appendFileSync(join(dir, 'actions/retry/action.lua'), '\n');
      const r = spawnSync('bash', [join(dir, 'gen-snippet.sh')], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('actions/retry/action.lua must end with exactly one newline');
      // nothing was written
      expect(readFileSync(join(dir, 'resource-customizations.yaml'), 'utf8')).toBe(
        readFileSync(HEALTH_SNIPPET, 'utf8'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
