import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only contend with the redis-server and Holdline processes under test.
    maxWorkers: 2,
    // A process per test file cost ~0.4 s each (its start, Vitest's, node_modules loaded again),
    // over 180 files. Files share the two worker processes instead; test/fresh-modules.ts still
    // gives each file fresh copies of the project's modules.
    isolate: false,
    setupFiles: ['test/fresh-modules.ts'],
  },
});
