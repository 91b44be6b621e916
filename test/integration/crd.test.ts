// The generated CRD on a real apiserver: kubectl refuses bad specs with readable messages, and
// the apiserver agrees with the zod schema on every example of the shared table.
import { ModelDeploymentSpecStrictSchema } from '../../src/api/v1alpha1/modelDeployment.js';
import { specExamples } from '../fixtures/specExamples.js';
import { applyCrd, createNamespace, deleteNamespace, kubectl, kubectlOk } from '../helpers/kubectl.js';
import { manifest } from '../helpers/modelDeployments.js';
import { installPrivateCrd, type PrivateCrd } from '../helpers/privateCrd.js';

let ns: string;
// The verdicts come from a private copy of this CRD: the bed's real one may be another branch's.
let crd: PrivateCrd;
beforeAll(async () => {
  await applyCrd();
  crd = await installPrivateCrd('crd');
  ns = await createNamespace('crd');
});
afterAll(async () => {
  await deleteNamespace(ns);
  await crd.remove();
});

describe('ModelDeployment CRD', () => {
  test.each(specExamples.map((e, i) => [e.name, e, i] as const))('%s', async (_name, example, i) => {
    const r = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      crd.manifest(ns, `example-${i}`, example.spec),
    );
    const zodValid = ModelDeploymentSpecStrictSchema.safeParse(example.spec).success;
    expect({ apiserver: r.code === 0, zod: zodValid }).toEqual({
      apiserver: example.valid,
      zod: example.valid,
    });
    if (!example.valid) expect(r.stderr).toContain(example.apiserverSays);
  });

  test('defaults pollInterval and timeoutSeconds', async () => {
    const out = await kubectlOk(
      ['apply', '--dry-run=server', '-o', 'json', '-f', '-'],
      manifest(ns, 'defaults', {
        model: { name: 'm', alias: 'champion' },
        registry: { trackingUri: 'http://127.0.0.1:1' },
      }),
    );
    const spec = (
      JSON.parse(out) as {
        spec: { model: { pollInterval: string }; registry: { timeoutSeconds: number }; suspend: boolean };
      }
    ).spec;
    expect(spec).toMatchObject({
      model: { pollInterval: '60s' },
      registry: { timeoutSeconds: 10 },
      suspend: false,
    });
  });

  test('kubectl explain documents the fields', async () => {
    const out = await kubectlOk(['explain', 'modeldeployment.spec.model']);
    expect(out).toContain('Which registered model version to deploy');
    for (const field of ['name', 'stage', 'alias', 'pollInterval'])
      expect(out).toMatch(new RegExp(`^\\s+${field}\\s`, 'm'));
    expect(await kubectlOk(['explain', 'modeldeployment.status.model.version'])).toContain(
      'Resolved model version',
    );
  });

  test('short names and category resolve', async () => {
    for (const name of ['mdep', 'md', 'mlops']) expect((await kubectl(['-n', ns, 'get', name])).code).toBe(0);
  });
});
