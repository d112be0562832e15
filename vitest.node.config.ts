// Node-side tests (outside workerd): Microsoft's own client libraries (@azure/msal-node,
// @microsoft/microsoft-graph-client) against the emulator, run in Miniflare behind a local TLS
// front. `npm test` runs these beside the workerd suite (vitest.config.ts, scripts/check.ts). Each file
// starts an emulator of its own (test/node/harness.ts); the files run one after another in one worker
// that keeps its modules (isolate: false), so Miniflare, MSAL and the Graph client load once, not once
// a file.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 30_000,
    fileParallelism: false,
    isolate: false,
  },
});
