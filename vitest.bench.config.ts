// `npm run bench` (scripts/bench.ts): the sync scenarios of bench/ run inside workerd with the
// same Worker, D1 and emulator as the tests; only the files and time limits differ.
import { defineConfig, mergeConfig } from "vitest/config";
import { workersConfig } from "./vitest.config.ts";

// Not `npm test`'s settings (shared workerd processes, storage in memory): each file keeps a
// workerd process of its own and its figures stay comparable with earlier runs.
export default defineConfig(async () => {
  return mergeConfig(await workersConfig(), {
    test: { include: ["bench/**/*.bench.ts"], exclude: [], testTimeout: 600_000, hookTimeout: 600_000 },
  });
});
