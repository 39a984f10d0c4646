// The browser side of console login: the Ed25519 private key (the 32-byte seed of an access key)
// is imported into WebCrypto as PKCS#8 and signs the server's challenge. The key stays in this
// page's memory: it is never sent, stored or logged.

// DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows (AGREEMENTS section 2).
const PKCS8_PREFIX = "302e020100300506032b657004220420";

export const LOGIN_CONTEXT = "mlvault-console-login\n";

export interface Credentials {
  accessKeyId: string;
  privateKey: string;
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(b: ArrayBuffer | Uint8Array): string {
  const u = b instanceof Uint8Array ? b : new Uint8Array(b);
  let s = "";
  for (const x of u) s += String.fromCharCode(x);
  return btoa(s);
}

// Reads a credentials file ($MLVAULT_HOME/credentials): "access_key_id = ..." and
// "private_key = ..." lines, in [profile] sections. Takes `profile` if given, else the first
// section that has both.
export function parseCredentialsFile(text: string, profile = ""): Credentials | null {
  const sections = new Map<string, Partial<Credentials>>();
  let current = "default";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(?:profile\s+)?([^\]]+)\]$/.exec(line);
    if (sec) {
      current = sec[1].trim();
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const s = sections.get(current) ?? {};
    if (kv[1] === "access_key_id") s.accessKeyId = kv[2].trim();
    if (kv[1] === "private_key") s.privateKey = kv[2].trim();
    sections.set(current, s);
  }
  const pick = (s?: Partial<Credentials>) =>
    s && s.accessKeyId && s.privateKey ? (s as Credentials) : null;
  if (profile) return pick(sections.get(profile));
  for (const s of sections.values()) if (pick(s)) return pick(s);
  return null;
}

// The seed from base64 (the credentials file's form). Throws an Error that says what is wrong.
export function parseSeed(privateKey: string): Uint8Array {
  const text = privateKey.replace(/\s+/g, "");
  if (!text) throw new Error("paste the private key (base64 of 32 bytes) or choose the credentials file");
  let seed: Uint8Array;
  try {
    seed = fromBase64(text);
  } catch {
    throw new Error("the private key is not base64; paste the private_key value of the credentials file");
  }
  if (seed.length !== 32)
    throw new Error(`the private key must be 32 bytes (an Ed25519 seed), got ${seed.length}`);
  return seed;
}

export async function importKey(seed: Uint8Array): Promise<CryptoKey> {
  const der = new Uint8Array(16 + 32);
  for (let i = 0; i < 16; i++) der[i] = parseInt(PKCS8_PREFIX.slice(i * 2, i * 2 + 2), 16);
  der.set(seed, 16);
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  } catch (e) {
    throw new Error(
      `this browser cannot use Ed25519 keys (${String(e)}); use a current Chromium, Firefox or Safari over https or on 127.0.0.1`,
    );
  } finally {
    der.fill(0);
  }
}

// base64 signature over "mlvault-console-login\n" + challenge.
export async function signChallenge(key: CryptoKey, challenge: string): Promise<string> {
  const data = new TextEncoder().encode(LOGIN_CONTEXT + challenge);
  return toBase64(await crypto.subtle.sign({ name: "Ed25519" }, key, data));
}
