// What the tests see in `env` from "cloudflare:test": the app's bindings plus test-only ones.
import type { Env } from "../src/env.ts";
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env extends AppEnv {
      /** Migrations read by vitest.config.ts, applied by test/setup.ts. */
      TEST_MIGRATIONS: D1Migration[];
      /** The emulator Worker, to drive its sign-in pages and admin API from tests. */
      EMULATOR: Fetcher;
    }
  }
  type AppEnv = Env;
}
