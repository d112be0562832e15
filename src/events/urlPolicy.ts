// Which endpoint URLs an Owner or Admin may register. Delivery sends signed events there, so a URL
// must name a public https receiver: no credentials in it (they would be stored and shown), no
// other schemes, no address of a private network or of this machine, and plain http only on this
// machine when the app itself runs on loopback.
//
// Only what the URL itself says is checked: IP literals (after `new URL`, which turns 2130706433,
// 0x7f.1 and 127.1 into 127.0.0.1, and ::ffff:127.0.0.1 into ::ffff:7f00:1) and names reserved for
// local or internal use. A public name whose DNS answers a private address (DNS rebinding) cannot be
// caught here: a Worker cannot resolve a name before fetching it. Workers' outbound fetches reach
// only the public internet, never a private network, so such a name gets a failed attempt at worst.
const MAX_URL_LENGTH = 2048;
/** The hosts local development may use while the app itself runs on loopback. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

const refuse = (what: string): UrlCheck => ({ ok: false, message: `The Endpoint URL must not point to ${what}.` });

/** An IPv4 address as four numbers, or null. */
function ipv4(hostname: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  if (!match) return null;
  const parts = match.slice(1).map(Number);
  return parts.every((n) => n <= 255) ? parts : null;
}

/** Why this IPv4 address is not a public receiver's, or null when it may be. */
function ipv4Refusal([a, b, c]: number[]): string | null {
  if (a === 0) return "the unspecified address 0.0.0.0 (or 0.0.0.0/8)";
  if (a === 127) return "a loopback address (127.0.0.0/8)";
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168)) {
    return "a private network address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)";
  }
  if (a === 169 && b === 254) return "a link-local address (169.254.0.0/16, which includes cloud metadata services)";
  if (a === 100 && b! >= 64 && b! <= 127) return "a shared carrier-grade NAT address (100.64.0.0/10)";
  if (
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113) ||
    a! >= 224
  ) {
    return "a reserved, documentation, multicast or broadcast address";
  }
  return null;
}

/** An IPv6 literal (as `new URL` writes it, in brackets) as eight 16-bit groups, or null. */
function ipv6(hostname: string): number[] | null {
  if (!hostname.startsWith("[") || !hostname.endsWith("]")) return null;
  const text = hostname.slice(1, -1);
  // `new URL` writes an embedded IPv4 in hex, so only hex groups are left.
  const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
  const groups = (part: string | null | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(tail);
  const zeros = tail === null ? 0 : 8 - front.length - back.length;
  const all = [...front, ...new Array<number>(zeros).fill(0), ...back];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : null;
}

function ipv6Refusal(groups: number[]): string | null {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const firstSixZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstSixZero && g5 === 0 && g6 === 0 && g7 === 0) return "the unspecified address ::";
  if (firstSixZero && g5 === 0 && g6 === 0 && g7 === 1) return "a loopback address (::1)";
  if (firstSixZero && g5 === 0xffff) return "an IPv4-mapped IPv6 address (::ffff:0:0/96)";
  if (firstSixZero && g5 === 0) return "an IPv4-compatible IPv6 address (::/96)";
  if (g0 === 0x64 && g1 === 0xff9b) return "a NAT64 address (64:ff9b::/96)";
  if ((g0 & 0xfe00) === 0xfc00) return "a unique local IPv6 address (fc00::/7)";
  if ((g0 & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if ((g0 & 0xffc0) === 0xfec0) return "a site-local IPv6 address (fec0::/10)";
  if ((g0 & 0xff00) === 0xff00) return "a multicast address (ff00::/8)";
  // 6to4 embeds an IPv4 address: judge that one.
  if (g0 === 0x2002) return ipv4Refusal([g1 >> 8, g1 & 0xff, g2 >> 8, g2 & 0xff]);
  // Everything public is global unicast (2000::/3); the rest is reserved.
  if ((g0 & 0xe000) !== 0x2000) return "a reserved IPv6 address (only global unicast, 2000::/3, is allowed)";
  return null;
}

/** Why this host may not receive events, or null when it may. */
function hostRefusal(hostname: string): string | null {
  // `new URL` lower-cases names; one trailing dot (the DNS root) names the same host.
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  if (name === "localhost" || name.endsWith(".localhost")) return "localhost (or a name under .localhost)";
  if (name.endsWith(".internal") || name === "internal" || name.endsWith(".local") || name === "local") {
    return "an internal host name (.internal or .local)";
  }
  const v4 = ipv4(name);
  if (v4) return ipv4Refusal(v4);
  const v6 = ipv6(name);
  if (v6) return ipv6Refusal(v6);
  if (name.startsWith("[")) return "an IPv6 address it cannot read";
  return null;
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
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, message: "The Endpoint URL must start with https://." };
  // Loopback (http or https) is for local development only: allowed when the app itself runs on loopback.
  const appLocal = isLoopbackHost(new URL(appOrigin).hostname);
  if (appLocal && isLoopbackHost(url.hostname)) return { ok: true, url: url.href };
  if (url.protocol === "http:") return { ok: false, message: "The Endpoint URL must start with https://." };
  const refusal = hostRefusal(url.hostname);
  if (refusal) return refuse(refusal);
  return { ok: true, url: url.href };
}
