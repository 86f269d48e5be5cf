import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The Redis Cluster and Sentinel suites start six and five redis-server processes beside their nodes: on a
    // 2-core machine they push npm test past its budget and its timing tests past their bounds, so they run
    // in `npm run test:deployments` (docs: README, Development).
    exclude:
      process.env.MAILROOM_TEST_DEPLOYMENTS === "all"
        ? []
        : ["test/redis-deployments.test.ts", "test/chaos/redis-deployments.test.ts"],
    setupFiles: ["test/vitest.setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
