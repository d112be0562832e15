// Before each test file: migrate local D1 and load the demo world, as `npm start` does.
import { applyD1Migrations, env } from "cloudflare:test";
import { demoSeedStatements } from "../demo/seed.ts";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await env.DB.batch(demoSeedStatements().map((sql) => env.DB.prepare(sql)));
