import { defineConfig } from 'vitest/config';

// Unit tests only: Playwright owns e2e/ (its *.spec.ts files must not run here).
export default defineConfig({
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    exclude: ['e2e/**', 'node_modules/**', 'dist/**'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // model sessions take memory and both cores: one test file at a time
    fileParallelism: false,
  },
});
