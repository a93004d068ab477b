import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests never wait on real time; a hung test is a bug, so fail it fast.
    testTimeout: 20_000,
    pool: 'forks',
  },
});
