import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/setup/global.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // One server, one project: files run one after another so their changes do not interleave.
    fileParallelism: false,
    // One module graph for every file (the SDK keeps no global state): each file's fresh one
    // cost more than its tests.
    isolate: false,
  },
});
