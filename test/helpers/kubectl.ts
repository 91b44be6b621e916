// Runs the bed's kubectl, the tool users run, against the bed.
import { spawn } from 'node:child_process';
import { bed } from './bed.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bed.kubectl, ['--kubeconfig', bed.kubeconfig, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // kubectl may exit before it reads its input (a bad flag, a missing file);
    // its exit code and stderr report that, so a closed pipe is not an error.
    if (input !== undefined) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input);
    }
  });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function applyCrd(): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']);
  await kubectlOk([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/modeldeployments.mlops.healthpredict.io',
  ]);
}

export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await kubectlOk(['create', 'namespace', name]);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  // The operator removes its finalizer from a deleted ModelDeployment, but tests stop it
  // before cleaning up: drop the finalizers so the namespace can go.
  const mds = await kubectl(['-n', name, 'get', 'modeldeployments', '-o', 'name']);
  for (const md of mds.stdout.split('\n').filter(Boolean))
    await kubectl(['-n', name, 'patch', md, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  await kubectl(['delete', 'namespace', name, '--wait=false']);
}

/** Creates or updates a Secret from plain-text values. */
export async function applySecret(
  namespace: string,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data }),
  );
}
