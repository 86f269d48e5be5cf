/**
 * `npm run chaos`: the long form of the chaos scenarios (test/chaos, CHAOS=full), one file at a time so
 * their figures are not disturbed by each other. `npm test` runs the same files in their quick form.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/chaos/**/*.test.ts"],
    setupFiles: ["test/vitest.setup.ts"],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
