// Kept apart from operatorProcess.ts because it registers jest hooks: the benchmark (bench/, run
// by plain node) shares operatorProcess.ts and must compile without jest's globals.
import { applyCrd, createNamespace, deleteNamespace } from './kubectl.js';
import { OperatorProcess } from './operatorProcess.js';

/** For a test file: the CRD installed, a fresh namespace, and an operator watching only it.
 * Read the fields inside tests (they are set in beforeAll). */
export function operatorInNamespace(
  prefix: string,
  /** How the namespace is made (e.g. createRealNodeNamespace: its Pods run on the real node). */
  makeNamespace: (prefix: string) => Promise<string> = createNamespace,
): { ns: string; operator: OperatorProcess } {
  const env = { ns: '', operator: undefined as unknown as OperatorProcess };
  beforeAll(async () => {
    await applyCrd();
    env.ns = await makeNamespace(prefix);
    env.operator = new OperatorProcess({ WATCH_NAMESPACES: env.ns });
    await env.operator.start();
  });
  afterAll(async () => {
    await env.operator?.stop();
    await deleteNamespace(env.ns);
  });
  return env;
}
