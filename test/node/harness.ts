// Runs the emulator Worker in Node (Miniflare) behind a local TLS front, because Microsoft's
// libraries insist on https for an authority. The certificate is made here with the openssl CLI and
// trusted only by the agents these tests hand to the libraries; TLS verification stays on.
import { ConfidentialClientApplication, CryptoProvider } from "@azure/msal-node";
import { Client } from "@microsoft/microsoft-graph-client";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, Agent as HttpsAgent, request, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { Agent as UndiciAgent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from "undici";
import { afterAll, beforeAll, beforeEach } from "vitest";

export const TLS_PORT = 9143;
export const ORIGIN = `https://localhost:${TLS_PORT}`;
export const APP_ORIGIN = "http://localhost:8787";
export const CLIENT_ID = "0d7f2c1a-5e6b-4c3d-9a8b-7e6f5d4c3b2a";
export const CLIENT_SECRET = `node-test-secret-${randomBytes(8).toString("hex")}`;
const BUNDLE = ".build/emulator-node/index.js";

export interface Harness {
  ca: string;
  /** For node:https (MSAL's network client). */
  httpsAgent: HttpsAgent;
  /** For undici / fetch (the Graph client, and the "browser" posting the sign-in forms). */
  dispatcher: UndiciAgent;
  fetch(url: string, init?: UndiciRequestInit): ReturnType<typeof undiciFetch>;
  admin(path: string, body?: unknown, method?: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * The emulator for the test file that calls this at its top: started once before the file's tests,
 * reset to the demo directory before each, closed after the last. The object is filled in by the
 * file's beforeAll, so it is used from tests and hooks, never at module level.
 */
export function emulatorForThisFile(): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    Object.assign(harness, await startEmulator());
  }, 30_000);
  afterAll(async () => {
    await harness.close?.();
  });
  beforeEach(async () => {
    await harness.admin("reset");
  });
  return harness;
}

export async function startEmulator(): Promise<Harness> {
  await build({
    entryPoints: ["emulator/src/index.ts"],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    outfile: BUNDLE,
    logLevel: "warning",
    external: ["cloudflare:*"],
  });
  const dir = mkdtempSync(join(tmpdir(), "emulator-tls-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const key = readFileSync(keyPath, "utf8");
  const ca = readFileSync(certPath, "utf8");
  rmSync(dir, { recursive: true, force: true });

  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 9144,
      workers: [
        {
          name: "emulator",
          modules: true,
          scriptPath: BUNDLE,
          compatibilityDate: "2026-11-01",
          // Every request runs in this Durable Object (emulator/src/index.ts); its storage lives as long as Miniflare.
          durableObjects: { EMULATOR_STATE: { className: "EmulatorState", useSQLite: true } },
          bindings: {
            EMULATOR_ORIGIN: ORIGIN,
            APP_ORIGIN,
            MS_CLIENT_ID: CLIENT_ID,
            MS_CLIENT_SECRET: CLIENT_SECRET,
            GOOGLE_CLIENT_ID: "node-test.apps.googleusercontent.example",
            GOOGLE_CLIENT_SECRET: "unused",
          },
        },
      ],
    }),
  );
  await mf.ready;

  const server: Server = createServer({ key, cert: ca }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const body = chunks.length > 0 && req.method !== "GET" && req.method !== "HEAD" ? Buffer.concat(chunks) : undefined;
      mf.dispatchFetch(`${ORIGIN}${req.url}`, { method: req.method, headers, body, redirect: "manual" })
        .then(async (answer) => {
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            out[name] = value;
          });
          const payload = Buffer.from(await answer.arrayBuffer());
          delete out["content-length"];
          delete out["transfer-encoding"];
          res.writeHead(answer.status, { ...out, "content-length": String(payload.length) });
          res.end(payload);
        })
        .catch((error: unknown) => {
          res.writeHead(502, { "content-type": "text/plain" });
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(TLS_PORT, resolve));

  const httpsAgent = new HttpsAgent({ ca, keepAlive: false });
  const dispatcher = new UndiciAgent({ connect: { ca } });
  const fetch = (url: string, init: UndiciRequestInit = {}) => undiciFetch(url, { ...init, dispatcher });
  const admin = async (path: string, body?: unknown, method = "POST") => {
    const res = await fetch(`${ORIGIN}/_emulator/${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  return {
    ca,
    httpsAgent,
    dispatcher,
    fetch,
    admin,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      httpsAgent.destroy();
      await dispatcher.close();
      await mf.dispose();
    },
  };
}

/** MSAL's network client on node:https with the test CA trusted (no global TLS changes). */
export function msalNetworkClient(agent: HttpsAgent) {
  const send = <T>(method: string, url: string, options?: { headers?: Record<string, string>; body?: string }) =>
    new Promise<{ headers: Record<string, string>; body: T; status: number }>((resolve, reject) => {
      const req = request(url, { method, agent, headers: options?.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === "string") headers[name] = value;
          try {
            resolve({ headers, body: JSON.parse(text) as T, status: res.statusCode ?? 0 });
          } catch (error) {
            reject(error);
          }
        });
      });
      req.on("error", reject);
      if (options?.body) req.write(options.body);
      req.end();
    });
  return {
    sendGetRequestAsync: <T>(url: string, options?: { headers?: Record<string, string>; body?: string }) => send<T>("GET", url, options),
    sendPostRequestAsync: <T>(url: string, options?: { headers?: Record<string, string>; body?: string }) => send<T>("POST", url, options),
  };
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** The browser's part: open the authorize URL, press one account's button, return the redirect. */
export async function pickAccount(harness: Harness, authorizeUrl: string, oid: string, extra: Record<string, string> = {}): Promise<URL> {
  const page = await harness.fetch(authorizeUrl, { redirect: "manual" });
  if (page.status !== 200) throw new Error(`authorize page: ${page.status} ${await page.text()}`);
  let html = await page.text();
  let answer = await submit(harness, html, { account: oid });
  if (answer.status === 200 && extra.consent) {
    html = await answer.text();
    answer = await submit(harness, html, extra);
  }
  const location = answer.headers.get("location");
  if (!location) throw new Error(`expected a redirect, got ${answer.status}: ${await answer.text()}`);
  return new URL(location);
}

async function submit(harness: Harness, html: string, button: Record<string, string>) {
  const action = decode(/<form method="post" action="([^"]*)"/.exec(html)![1]!);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/?>/g)) fields[decode(m[1]!)] = decode(m[2]!);
  return harness.fetch(`${ORIGIN}${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...fields, ...button }).toString(),
    redirect: "manual",
  });
}

/**
 * Microsoft's own libraries signed in as `oid` (MSAL's auth code flow with PKCE, consent accepted on
 * the emulator's page) and Microsoft's Graph client holding the token: how the emulator judges share one sign-in.
 */
export async function graphClientAs(harness: Harness, oid: string, scopes: string[]): Promise<Client> {
  const redirectUri = `${APP_ORIGIN}/auth/microsoft/callback`;
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      authority: `${ORIGIN}/organizations`,
      knownAuthorities: [`localhost:${TLS_PORT}`],
    },
    system: { networkClient: msalNetworkClient(harness.httpsAgent) },
  });
  const pkce = await new CryptoProvider().generatePkceCodes();
  const url = await app.getAuthCodeUrl({
    scopes,
    redirectUri,
    codeChallenge: pkce.challenge,
    codeChallengeMethod: "S256",
    state: "s",
    responseMode: "query",
  });
  const code = (await pickAccount(harness, url, oid, { consent: "accept" })).searchParams.get("code")!;
  const { accessToken } = await app.acquireTokenByCode(
    { code, scopes, redirectUri, codeVerifier: pkce.verifier, state: "s" },
    { code, state: "s" },
  );
  return Client.initWithMiddleware({
    baseUrl: `${ORIGIN}/`,
    customHosts: new Set(["localhost"]),
    defaultVersion: "v1.0",
    authProvider: { getAccessToken: async () => accessToken },
    fetchOptions: { dispatcher: harness.dispatcher } as RequestInit,
  });
}
