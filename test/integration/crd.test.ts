// The generated CRD on a real apiserver: kubectl refuses bad specs with readable messages, and
// the apiserver agrees with the zod schema on every example of the shared table.
import { ModelDeploymentSpecStrictSchema } from '../../src/api/v1alpha1/modelDeployment.js';
import { integerTable, kanikoSpec, quantityTable } from '../fixtures/formatTables.js';
import { specExamples } from '../fixtures/specExamples.js';
import { bed } from '../helpers/bed.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
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

  const accepts = async (spec: Record<string, unknown>) =>
    (await kubectl(['create', '--dry-run=server', '-f', '-'], crd.manifest(ns, 'table', spec))).code === 0;

  test('quantities: the apiserver agrees with the shared table', async () => {
    const verdicts: [string, boolean][] = [];
    for (const [value] of quantityTable)
      verdicts.push([value, await accepts(kanikoSpec({ resources: { requests: { cpu: value } } }))]);
    expect(verdicts).toEqual(quantityTable);
  });

  test('integers: the apiserver agrees with the shared table', async () => {
    const verdicts: [number, boolean][] = [];
    for (const [value] of integerTable)
      verdicts.push([value, await accepts(kanikoSpec({ activeDeadlineSeconds: value }))]);
    expect(verdicts).toEqual(integerTable);
  });

  test('MLflow accepts exactly the aliases the CRD accepts', async () => {
    const mlflow = new MlflowAdmin(bed.mlflowUri);
    const { name, version } = await mlflow.createChampion('aliases');
    const aliases = ['chámpion', '日本', 'blue-2_x', 'Ω9', 'cha\u0301mpion', 'a b', 'a/b', 'a.b', 'x\u00a0'];
    const verdicts = [];
    for (const alias of aliases) {
      const byMlflow = await mlflow.setAlias(name, alias, version).then(
        () => true,
        () => false,
      );
      const byCrd = await accepts({
        model: { name: 'm', alias },
        registry: { trackingUri: 'http://127.0.0.1:1' },
      });
      verdicts.push({ alias, byMlflow, byCrd });
    }
    expect(verdicts.filter((v) => v.byMlflow !== v.byCrd)).toEqual([]);
    expect(verdicts.find((v) => v.alias === 'chámpion')).toMatchObject({ byMlflow: true, byCrd: true });
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
