import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Browser journeys walk a dozen pages; on a busy 2-core machine they need the room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
