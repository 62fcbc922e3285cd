import { defineConfig } from 'vitest/config';

// Unit tests only: Playwright owns e2e/ (its *.spec.ts files must not run here).
// Tests that need the model files fail when those are missing (src/engine/__tests__/helpers.ts,
// requireModels): build them with `npm run models`, or set GENARM_ALLOW_MISSING_MODELS=1 to skip.
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
