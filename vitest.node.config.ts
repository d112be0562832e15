// Node-side tests (outside workerd): Microsoft's own client libraries (@azure/msal-node,
// @microsoft/microsoft-graph-client) against the emulator, run in Miniflare behind a local TLS
// front. `npm test` runs these first, then the workerd suites (vitest.config.ts).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
