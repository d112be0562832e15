// `npm run bench` (scripts/bench.ts): the sync scenarios of bench/ run inside workerd with the
// same Worker, D1 and emulator as the tests; only the files and time limits differ.
import { defineConfig, mergeConfig } from "vitest/config";
import testConfig from "./vitest.config.ts";

export default defineConfig(async (env) => {
  const base = await (typeof testConfig === "function" ? testConfig(env) : testConfig);
  return mergeConfig(base, {
    test: { include: ["bench/**/*.bench.ts"], exclude: [], testTimeout: 600_000, hookTimeout: 600_000 },
  });
});
