// The emulator Worker's bindings (emulator/wrangler.toml [vars], its Durable Object and emulator/.dev.vars).
export interface EmulatorEnv {
  /** Where the emulator is reachable; issuers, endpoints and nextLinks are built from it. */
  EMULATOR_ORIGIN: string;
  /** The app's origin; the only redirect URIs the emulated app registrations accept live here. */
  APP_ORIGIN: string;
  /** The multi-tenant Entra app registration the emulator knows (one client, like the real app). */
  MS_CLIENT_ID: string;
  MS_CLIENT_SECRET: string;
  /** The Google OAuth client the emulator knows. */
  GOOGLE_CLIENT_ID: string;
  GOOGLE_CLIENT_SECRET: string;
  /** Tests only (vitest.config.ts): the app under test, where change notifications are delivered. */
  APP?: Fetcher;
  /** The Durable Object every request runs in; its SQLite storage keeps state across restarts (index.ts). */
  EMULATOR_STATE: DurableObjectNamespace;
}

export type EmulatorContext = { Bindings: EmulatorEnv };
