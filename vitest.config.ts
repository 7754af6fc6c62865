import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A rejection nobody handled is a bug here, never noise.
    dangerouslyIgnoreUnhandledErrors: false,
    testTimeout: 20_000,
  },
});
