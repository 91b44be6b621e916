// Runs the Argo CD health check (health/argocd/modeldeployment.lua) with a real Lua: lua5.4 and
// lua-cjson from Debian, which test/bed/lua.sh installs (up.sh calls it). A missing Lua fails
// the test with that hint; it never skips.
import { spawnSync } from 'node:child_process';

export const HEALTH_SCRIPT = 'health/argocd/modeldeployment.lua';
export const HEALTH_SNIPPET = 'health/argocd/resource-customizations.yaml';
export const HEALTH_KEY = 'resource.customizations.health.mlops.healthpredict.io_ModelDeployment';
const HARNESS = 'health/argocd/run.lua';
const LUA = 'lua5.4';
const INSTALL_HINT =
  'run `bash test/bed/lua.sh` (installs Debian lua5.4 + lua-cjson; test/bed/up.sh runs it)';

export interface Health {
  status: string;
  message: string;
}

/** The health Argo CD would show for `obj`. */
export function argocdHealth(obj: unknown): Health {
  const r = spawnSync(LUA, [HARNESS, HEALTH_SCRIPT], {
    input: JSON.stringify(obj),
    encoding: 'utf8',
    timeout: 10_000,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(`${LUA} is not installed: ${INSTALL_HINT}`);
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const hint = /module 'cjson' not found/.test(r.stderr) ? `\nlua-cjson is missing: ${INSTALL_HINT}` : '';
    throw new Error(`${LUA} ${HARNESS} ${HEALTH_SCRIPT} exited ${r.status}: ${r.stderr}${hint}`);
  }
  const line = r.stdout.replace(/\n$/, '');
  const tab = line.indexOf('\t');
  if (tab < 0) throw new Error(`unexpected output of ${HARNESS}: ${JSON.stringify(r.stdout)}`);
  return { status: line.slice(0, tab), message: line.slice(tab + 1) };
}
