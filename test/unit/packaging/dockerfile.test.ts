// The image cannot be built here (no Docker engine); check what can be checked statically.
import { readFileSync } from 'node:fs';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { version?: string }>;
};
const lines = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

describe('Dockerfile', () => {
  it('pins the base image to the exact Node release the tests run on', () => {
    const image = /^ARG NODE_IMAGE=(.+)$/m.exec(dockerfile)?.[1];
    expect(image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    expect(image).toContain(`node:${lock.packages['node_modules/node']?.version}-`);
    for (const from of lines.filter((l) => l.startsWith('FROM ')))
      expect(from).toMatch(/^FROM \$\{NODE_IMAGE\}/);
  });

  it('is multi-stage and ships production dependencies only', () => {
    expect(lines.filter((l) => l.startsWith('FROM '))).toHaveLength(2);
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(finalStage).toContain('COPY --from=build');
    expect(finalStage).not.toMatch(/COPY .*\bsrc\b/);
  });

  it('runs as a non-root numeric user', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(finalStage);
    expect(Number(user?.[1])).toBeGreaterThan(0);
  });

  it('starts what package.json starts, without a shell or init wrapper', () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(finalStage)?.[1] ?? '[]') as string[];
    expect(entrypoint).toEqual(['node', pkg.main]);
    expect(pkg.scripts.start).toBe(`node ${pkg.main}`);
    expect(dockerfile).not.toMatch(/tini|dumb-init/);
  });

  it('exposes the metrics and health ports the manifests probe', () => {
    const deployment = readFileSync('manifests/manager/deployment.yaml', 'utf8');
    const exposed = /^EXPOSE (.+)$/m.exec(finalStage)?.[1]?.split(/\s+/) ?? [];
    for (const port of exposed) expect(deployment).toContain(`containerPort: ${port}`);
  });
});
