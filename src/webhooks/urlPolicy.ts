// Which endpoint URLs an Owner or Admin may register. Delivery sends signed events there, so a URL
// must name a public https receiver: no credentials in it (they would be stored and shown), no
// other schemes, and plain http only on this machine when the app itself runs on loopback.
const MAX_URL_LENGTH = 2048;
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

export function checkEndpointUrl(raw: string, appOrigin: string): UrlCheck {
  const text = raw.trim();
  if (text.length === 0) return { ok: false, message: "Enter the Endpoint URL." };
  if (text.length > MAX_URL_LENGTH) return { ok: false, message: `The Endpoint URL must be at most ${MAX_URL_LENGTH} characters.` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: "The Endpoint URL is not a valid URL." };
  }
  if (url.username || url.password) return { ok: false, message: "The Endpoint URL must not contain a user name or password." };
  if (url.hash) return { ok: false, message: "The Endpoint URL must not contain a fragment (#…)." };
  if (url.protocol === "https:") return { ok: true, url: url.href };
  if (url.protocol === "http:") {
    // Loopback http is for local development only: allowed when the app itself runs on loopback.
    const appLocal = isLoopbackHost(new URL(appOrigin).hostname);
    if (appLocal && isLoopbackHost(url.hostname)) return { ok: true, url: url.href };
    return { ok: false, message: "The Endpoint URL must start with https://." };
  }
  return { ok: false, message: "The Endpoint URL must start with https://." };
}
