// Runs the Argo CD resource actions (health/argocd/actions/) with a real Lua: lua5.4 and lua-cjson
// from Debian, which test/bed/lua.sh installs. health/argocd/run-action.lua gives the scripts
// only what Argo CD's action VM offers. A missing Lua fails the test with that hint; it never skips.
import { isDeepStrictEqual } from 'node:util';
import { runLuaHarness } from './argocdHealth.js';

export const ACTIONS_DIR = 'health/argocd/actions';
export const ACTIONS_KEY = 'resource.customizations.actions.mlops.healthpredict.io_ModelDeployment';
export const ACTION_NAMES = ['approve', 'retry'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];
const HARNESS = 'health/argocd/run-action.lua';

/** One entry of what `argocd app actions list` shows for the object. */
export interface ActionOffer {
  name: string;
  disabled: boolean;
  displayName?: string;
  iconClass?: string;
}

/** The object an action returns, or the error it raised (Argo CD then changes nothing). */
export type ActionOutcome = { ok: true; obj: Record<string, unknown> } | { ok: false; error: string };

/** The actions Argo CD would offer for `obj` (discovery.lua), sorted by name. */
export function argocdDiscover(obj: unknown): ActionOffer[] {
  const r = runLuaHarness(HARNESS, ['discover'], obj);
  if (r.code !== 0) throw new Error(`lua5.4 ${HARNESS} discover exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ActionOffer[];
}

/**
 * Runs actions/NAME/action.lua on `obj`; `now` fixes the clock the script reads, `dir` reads the
 * scripts from another directory (for probing the harness itself).
 */
export function argocdAction(
  name: string,
  obj: unknown,
  { now, dir }: { now?: Date; dir?: string } = {},
): ActionOutcome {
  const args = [name];
  if (now !== undefined) args.push('--now', String(Math.floor(now.getTime() / 1000)));
  if (dir !== undefined) args.push('--dir', dir);
  const r = runLuaHarness(HARNESS, args, obj);
  if (r.code === 3)
    return { ok: false, error: r.stderr.replace(/^run-action\.lua: \S+ failed: /, '').trim() };
  if (r.code !== 0) throw new Error(`lua5.4 ${HARNESS} ${name} exited ${r.code}: ${r.stderr}`);
  const returned = JSON.parse(r.stdout) as Record<string, unknown>;
  return { ok: true, obj: restoreEmptyArrays(returned, obj) as Record<string, unknown> };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Lua has one table type, so an empty JSON array comes back from lua-cjson as `{}`. Puts back the
 * arrays the input had, as Argo CD does for its own encoder's opposite mistake (cleanReturnedObj).
 */
function restoreEmptyArrays(returned: unknown, input: unknown): unknown {
  if (Array.isArray(input) && isObject(returned) && Object.keys(returned).length === 0) return [];
  if (Array.isArray(input) && Array.isArray(returned))
    return returned.map((v, i) => (i < input.length ? restoreEmptyArrays(v, input[i]) : v));
  if (isObject(input) && isObject(returned)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(returned)) out[k] = k in input ? restoreEmptyArrays(v, input[k]) : v;
    return out;
  }
  return returned;
}

/**
 * The JSON merge patch (RFC 7386) from `before` to `after`: what Argo CD sends to the apiserver
 * after an action returned `after` for the live object `before`. `{}` means nothing changes.
 */
export function mergePatch(before: unknown, after: unknown): Json {
  const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Json; // drops undefined, as JSON does
  return diff(json(before), json(after));
}

function diff(before: Json, after: Json): Json {
  if (!isObject(before) || !isObject(after)) return after;
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
  for (const [k, v] of Object.entries(after)) {
    const old = before[k];
    if (old === undefined) patch[k] = v;
    else if (!isDeepStrictEqual(old, v)) patch[k] = diff(old, v);
  }
  return patch;
}
