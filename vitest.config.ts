import { defineConfig } from 'vitest/config';

/** Test files that mock a module (vi.mock). */
const MOCKING = ['test/report/map-conversions.test.ts'];

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
        // Files that mock a module: a mock applies only to a fresh module graph, so each gets its own.
        test: { name: 'mocking', include: MOCKING, isolate: true },
      },
      {
        extends: true,
        // The rest share each fork's loaded modules: none mocks a module or leaves global state behind, and
        // importing the project afresh for every file cost half the time of the unit tests.
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: ['test/models/**', ...MOCKING],
          isolate: false,
        },
      },
    ],
  },
});
