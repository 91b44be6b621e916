// The ready-to-paste argocd-cm snippet is generated from the Lua health check; no servers needed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { HEALTH_KEY, HEALTH_SCRIPT, HEALTH_SNIPPET } from '../../helpers/argocdHealth.js';

describe('the argocd-cm snippet', () => {
  test('inlines exactly health/argocd/modeldeployment.lua (regenerate with health/argocd/gen-snippet.sh)', () => {
    const lua = readFileSync(HEALTH_SCRIPT, 'utf8');
    const snippet = parse(readFileSync(HEALTH_SNIPPET, 'utf8')) as { data: Record<string, string> };
    expect(Object.keys(snippet.data)).toEqual([HEALTH_KEY]);
    expect(snippet.data[HEALTH_KEY]).toBe(lua);
    execFileSync('bash', ['health/argocd/gen-snippet.sh', '--check'], { stdio: 'pipe' });
  });
});
