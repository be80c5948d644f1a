import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Test files share each fork's loaded modules: no test mocks a module or leaves global state behind, and
    // importing the project afresh for every file cost half the time of the unit tests.
    isolate: false,
  },
});
