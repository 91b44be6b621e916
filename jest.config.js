// jest runs in ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by the npm scripts):
// @kubernetes/client-node is ESM-only.
const tsEsm = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  // Sources import siblings with the `.js` extension NodeNext requires; map them to the `.ts` files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  // Only our code: the test bed's state lives in .bed/ inside the checkout, and jest would take
  // etcd's *.snap files there for obsolete snapshots and fail the run.
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/bench'],
};

export default {
  projects: [
    { ...tsEsm, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...tsEsm,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup.ts'],
    },
    // Long (minutes): only through `npm run test:chaos`, not part of `npm test`.
    {
      ...tsEsm,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup.ts'],
    },
  ],
};
