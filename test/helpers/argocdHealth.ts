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

/** Runs a harness of health/argocd/ with `obj` as JSON on stdin; a missing Lua or lua-cjson
 * throws with the way to install them. */
export function runLuaHarness(
  harness: string,
  args: string[],
  obj: unknown,
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(LUA, [harness, ...args], {
    input: JSON.stringify(obj),
    encoding: 'utf8',
    timeout: 10_000,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(`${LUA} is not installed: ${INSTALL_HINT}`);
  if (r.error) throw r.error;
  if (/module 'cjson' not found/.test(r.stderr)) throw new Error(`lua-cjson is missing: ${INSTALL_HINT}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The health Argo CD would show for `obj`. */
export function argocdHealth(obj: unknown): Health {
  const r = runLuaHarness(HARNESS, [HEALTH_SCRIPT], obj);
  if (r.code !== 0) throw new Error(`${LUA} ${HARNESS} ${HEALTH_SCRIPT} exited ${r.code}: ${r.stderr}`);
  const line = r.stdout.replace(/\n$/, '');
  const tab = line.indexOf('\t');
  if (tab < 0) throw new Error(`unexpected output of ${HARNESS}: ${JSON.stringify(r.stdout)}`);
  return { status: line.slice(0, tab), message: line.slice(tab + 1) };
}
