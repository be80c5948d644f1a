import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        // TensorFlow.js keeps its backend as global engine state, which these tests set and check: a file each.
        test: { name: 'models', include: ['test/models/**/*.test.ts'], isolate: true },
      },
      {
        extends: true,
        // The rest share each fork's loaded modules: none mocks a module or leaves global state behind, and
        // importing the project afresh for every file cost half the time of the unit tests.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ['test/models/**'], isolate: false },
      },
    ],
  },
});
