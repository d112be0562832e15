// `npm run rotate-token-key -- --local|--remote`: re-encrypts every value the token vault sealed
// (SEALED below: the Entra tokens and delta link, the change-notification clientState, the webhook
// signing secrets) under the newest key of TOKEN_ENCRYPTION_KEYS, the last step before an old key
// can be removed (docs/token-vault.md).
//
// It talks to D1 through `wrangler d1 execute --json`, so the same command works against the local
// database of `npm start` and against production. Rows are read a page at a time; each value is
// opened and sealed again with src/lib/vault.ts, and written back with an optimistic
//   UPDATE <table> … WHERE <key> = … AND <context column> = … AND <column> = <old value> RETURNING …
// so a value the app changed meanwhile is left alone and reported as skipped. It prints counts and
// organization ids, never a token, a stored value or key material.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { createTokenVault, TokenVaultConfigError, type OpenFailureReason, type TokenVault, type VaultField } from "../src/lib/vault.ts";
import { ROOT } from "./paths.ts";
import { parseEnvFile } from "./stack.ts";

const USAGE = `usage: npm run rotate-token-key -- (--local | --remote) [options]

Re-encrypts every token-vault value in D1 (Entra tokens, delta links, change-notification
clientStates, webhook signing secrets) under the first key of TOKEN_ENCRYPTION_KEYS.

  --local             the local D1 of \`npm start\` (keys from $TOKEN_ENCRYPTION_KEYS, else .dev.vars)
  --remote            the production D1 (keys from $TOKEN_ENCRYPTION_KEYS, required)
  --persist-to DIR    local D1 persistence directory, if not wrangler's default (.wrangler/state)
  --database NAME     D1 binding or database name (default: DB)
  --config PATH       wrangler configuration file (default: wrangler.toml)
  --env NAME          wrangler environment
  --dry-run           read and count, write nothing
  --help              this text`;

/**
 * Every sealed column: the table, its key, and the column that is the vault context's second key
 * (`tenantId`: the Entra tenant, or the endpoint id for a webhook secret; src/lib/vault.ts). A
 * new sealed column is added here, or this script leaves it under the old key.
 */
interface SealedTable {
  table: string;
  key: string;
  contextColumn: string;
  columns: readonly { field: VaultField; column: string }[];
}
const SEALED: readonly SealedTable[] = [
  {
    table: "entra_connections",
    key: "organization_id",
    contextColumn: "tenant_id",
    columns: [
      { field: "refresh_token", column: "refresh_token_enc" },
      { field: "access_token", column: "access_token_enc" },
      { field: "delta_link", column: "delta_link_enc" },
    ],
  },
  {
    table: "realtime_subscriptions",
    key: "organization_id",
    contextColumn: "tenant_id",
    columns: [{ field: "client_state", column: "client_state_enc" }],
  },
  // Movers (migrations/0022): the group delta's link and the /groups subscription's clientState.
  {
    table: "group_delta_links",
    key: "organization_id",
    contextColumn: "tenant_id",
    columns: [{ field: "delta_link", column: "delta_link_enc" }],
  },
  {
    table: "group_subscriptions",
    key: "organization_id",
    contextColumn: "tenant_id",
    columns: [{ field: "client_state", column: "client_state_enc" }],
  },
  {
    table: "webhook_endpoints",
    key: "id",
    contextColumn: "id",
    columns: [
      { field: "webhook_secret", column: "secret_enc" },
      { field: "webhook_secret", column: "previous_secret_enc" },
    ],
  },
];
const PAGE_SIZE = 100;
// One --command argument stays well under Linux's 128 KiB limit for a single argument.
const MAX_COMMAND_CHARS = 96_000;

/** A page row: `row_key`, `organization_id`, `context_key` and the table's sealed columns. */
type Row = Record<string, string | null>;

interface Update {
  label: string;
  sql: string;
}

interface Counts {
  rows: number;
  reencrypted: number;
  current: number;
  skipped: number;
  unreadable: number;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      local: { type: "boolean", default: false },
      remote: { type: "boolean", default: false },
      "persist-to": { type: "string" },
      database: { type: "string", default: "DB" },
      config: { type: "string" },
      env: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.local === values.remote) throw new UsageError("choose exactly one of --local and --remote");
  if (values["persist-to"] && !values.local) throw new UsageError("--persist-to only applies to --local");

  const where = values.local ? "local" : "remote";
  const vault = createTokenVault(readSecret(values.local, values.env));
  const wranglerArgs = [
    "d1",
    "execute",
    values.database,
    values.local ? "--local" : "--remote",
    "--json",
    ...(values["persist-to"] ? ["--persist-to", values["persist-to"]] : []),
    ...(values.config ? ["--config", values.config] : []),
    ...(values.env ? ["--env", values.env] : []),
  ];
  const d1 = (sql: string) => execute(wranglerArgs, sql);
  const dryRun = values["dry-run"];

  console.log(
    `${dryRun ? "Dry run: checking" : "Re-encrypting"} token-vault values in the ${where} D1 "${values.database}" under key "${vault.currentKeyId}"…`,
  );
  const counts: Counts = { rows: 0, reencrypted: 0, current: 0, skipped: 0, unreadable: 0 };
  const unreadable: string[] = [];
  const skipped: string[] = [];

  for (const sealedTable of SEALED) {
    let after: string | null = null;
    for (;;) {
      const page: Row[] = (await d1(selectPage(sealedTable, after)))[0] ?? [];
      if (page.length === 0) break;
      after = page[page.length - 1]!.row_key!;
      counts.rows += page.length;

      const updates: Update[] = [];
      for (const row of page) {
        for (const { field, column } of sealedTable.columns) {
          const sealed = row[column];
          if (sealed === null || sealed === undefined) continue;
          const label = `${sealedTable.table} ${row.row_key} ${column}`;
          if (!row.context_key || !row.organization_id) {
            counts.unreadable++;
            unreadable.push(`${label}: the row has no ${row.organization_id ? sealedTable.contextColumn : "organization_id"}`);
            continue;
          }
          const result = await vault.reseal(sealed, { organizationId: row.organization_id, tenantId: row.context_key, field });
          if (!result.ok) {
            counts.unreadable++;
            unreadable.push(`${label}: ${describe(result.reason)}`);
          } else if (!result.changed) {
            counts.current++;
          } else {
            updates.push({
              label,
              sql:
                `UPDATE ${sealedTable.table} SET ${column} = ${quote(result.value)}` +
                ` WHERE ${sealedTable.key} = ${quote(row.row_key!)} AND ${sealedTable.contextColumn} = ${quote(row.context_key)}` +
                ` AND ${column} = ${quote(sealed)} RETURNING ${sealedTable.key}`,
            });
          }
        }
      }

      if (dryRun) {
        counts.reencrypted += updates.length;
        continue;
      }
      for (const batch of batches(updates)) {
        const results = await d1(batch.map((update) => update.sql).join(";\n"));
        if (results.length !== batch.length) {
          throw new Error(`wrangler returned ${results.length} results for ${batch.length} statements`);
        }
        batch.forEach((update, i) => {
          if ((results[i] ?? []).length > 0) {
            counts.reencrypted++;
          } else {
            counts.skipped++;
            skipped.push(update.label);
          }
        });
      }
    }
  }

  report(counts, dryRun, unreadable, skipped, vault);
  return counts.unreadable > 0 || counts.skipped > 0 ? 1 : 0;
}

function selectPage(sealed: SealedTable, after: string | null): string {
  const columns = sealed.columns.map((c) => c.column).join(", ");
  return (
    `SELECT ${sealed.key} AS row_key, organization_id, ${sealed.contextColumn} AS context_key, ${columns} FROM ${sealed.table}` +
    (after === null ? "" : ` WHERE ${sealed.key} > ${quote(after)}`) +
    ` ORDER BY ${sealed.key} LIMIT ${PAGE_SIZE}`
  );
}

function* batches(updates: Update[]): Generator<Update[]> {
  let batch: Update[] = [];
  let size = 0;
  for (const update of updates) {
    if (batch.length > 0 && size + update.sql.length + 2 > MAX_COMMAND_CHARS) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(update);
    size += update.sql.length + 2;
  }
  if (batch.length > 0) yield batch;
}

/** A SQL string literal. Vault values are [A-Za-z0-9._-]; ids are quoted all the same. */
function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function describe(reason: OpenFailureReason): string {
  switch (reason) {
    case "malformed":
      return "not a token vault value";
    case "unknown_key":
      return "sealed under a key that is not in TOKEN_ENCRYPTION_KEYS";
    case "tampered":
      return "does not authenticate (wrong key material, or altered or moved value)";
  }
}

function report(counts: Counts, dryRun: boolean, unreadable: string[], skipped: string[], vault: TokenVault): void {
  const lines: [string, number][] = [
    ["rows read", counts.rows],
    [dryRun ? "to re-encrypt" : "re-encrypted", counts.reencrypted],
    [`already under "${vault.currentKeyId}"`, counts.current],
    ["skipped (changed meanwhile)", counts.skipped],
    ["unreadable", counts.unreadable],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, n] of lines) console.log(`  ${label.padEnd(width)}  ${n}`);
  for (const line of unreadable) console.log(`  unreadable: ${line}`);
  for (const line of skipped) console.log(`  skipped: ${line}`);
  if (counts.skipped > 0) {
    console.log("Some values changed while this ran; run the command again until nothing is skipped.");
  }
  if (counts.unreadable > 0) {
    console.log(
      "Some values could not be opened with these keys and were left as they are: reconnect those connections, and rotate those webhook secrets.",
    );
  }
  if (counts.skipped === 0 && counts.unreadable === 0 && !dryRun) {
    console.log(`Every sealed value is under "${vault.currentKeyId}"; older keys can now be removed from the secret.`);
  }
}

function readSecret(local: boolean, env: string | undefined): string {
  const fromEnv = process.env.TOKEN_ENCRYPTION_KEYS;
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv;
  if (!local) {
    throw new UsageError("set TOKEN_ENCRYPTION_KEYS in the environment to the production secret (new key first, old keys after)");
  }
  const file = join(ROOT, env ? `.dev.vars.${env}` : ".dev.vars");
  if (!existsSync(file)) {
    throw new UsageError(`TOKEN_ENCRYPTION_KEYS is not in the environment and ${file} does not exist (run \`npm start\` once)`);
  }
  // The same dotenv reader `npm start` writes .dev.vars with.
  const value = parseEnvFile(readFileSync(file, "utf8")).TOKEN_ENCRYPTION_KEYS;
  if (value === undefined) throw new UsageError(`TOKEN_ENCRYPTION_KEYS is not set in ${file}`);
  return value;
}

const execFileAsync = promisify(execFile);
const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");

/**
 * Runs SQL through wrangler; returns each statement's result rows. Output is never echoed raw.
 * A failed call is tried again (a busy local database, a network blip): reads are harmless to
 * repeat, and a repeated optimistic UPDATE that had already applied just reports "skipped".
 */
async function execute(args: string[], sql: string): Promise<Row[][]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await executeOnce(args, sql);
    } catch (error) {
      if (attempt >= 3) throw error;
      console.log(`  (wrangler failed, trying again: ${redact(error instanceof Error ? error.message : String(error))})`);
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

async function executeOnce(args: string[], sql: string): Promise<Row[][]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(process.execPath, [wranglerBin, ...args, "--command", sql], {
      cwd: ROOT,
      maxBuffer: 256 * 1024 * 1024,
      env: childEnv(),
    }));
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number };
    throw new Error(`wrangler d1 execute failed (exit ${failed.code ?? "?"}): ${wranglerError(failed.stdout, failed.stderr)}`);
  }
  const parsed = parseJson(stdout);
  if (!Array.isArray(parsed)) throw new Error(`wrangler d1 execute failed: ${wranglerError(stdout, "")}`);
  return parsed.map((result: { success?: boolean; results?: Row[] }) => {
    if (result?.success !== true || !Array.isArray(result.results)) throw new Error("wrangler d1 execute: a statement failed");
    return result.results;
  });
}

/** wrangler needs no key material: the keys stay in this process. */
function childEnv(): NodeJS.ProcessEnv {
  const { TOKEN_ENCRYPTION_KEYS: _keys, ...rest } = process.env;
  return rest;
}

function parseJson(stdout: string): unknown {
  // wrangler may print a warning before the JSON document.
  const start = stdout.search(/^[[{]/m);
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start));
  } catch {
    return undefined;
  }
}

/** wrangler's error text, with anything that looks like a stored vault value cut out. */
function wranglerError(stdout = "", stderr = ""): string {
  const parsed = parseJson(stdout) as { error?: { text?: string } } | undefined;
  const text = parsed?.error?.text ?? (stderr.trim() || stdout.trim() || "no output");
  return redact(text).slice(0, 2000);
}

function redact(text: string): string {
  return text.replace(/v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, "v1.…").replace(/'[^']{40,}'/g, "'…'");
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`rotate-token-key: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof TokenVaultConfigError) {
      console.error(`rotate-token-key: ${error.message}`);
      process.exitCode = 2;
    } else if (error instanceof Error && String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS")) {
      console.error(`rotate-token-key: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      // Our own errors carry no token; anything else is reduced to its message, redacted.
      console.error(`rotate-token-key: ${redact(error instanceof Error ? error.message : String(error))}`);
      process.exitCode = 1;
    }
  },
);
