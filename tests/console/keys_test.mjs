// The console's login key handling (console/src/keys.ts) in node's WebCrypto, which implements
// Ed25519 like the browsers: the seed imported as PKCS#8 signs exactly as RFC 8032 says, the
// login signature is over "mlvault-console-login\n" + challenge, and bad keys get clear errors.
//   node keys_test.mjs <repo root>
import { build } from "../../console/node_modules/esbuild/lib/main.js";
import { webcrypto } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

if (!globalThis.crypto) globalThis.crypto = webcrypto;
const root = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), "mlvault-keys-"));
let passed = 0, failed = 0;
const check = (desc, ok, detail = "") => {
  if (ok) { passed++; console.log(`  ok   ${desc}`); } else { failed++; console.log(`  FAIL ${desc} ${detail}`); }
};
const hex = (b) => Buffer.from(b).toString("hex");
const b64 = (h) => Buffer.from(h, "hex").toString("base64");
try {
  await build({ entryPoints: [join(root, "console/src/keys.ts")], bundle: true, format: "esm",
                platform: "neutral", outfile: join(dir, "keys.mjs"), logLevel: "error" });
  const k = await import(join(dir, "keys.mjs"));

  // RFC 8032 section 7.1, TEST 1 and TEST 2.
  const seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  const pub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  const key = await k.importKey(k.parseSeed(b64(seed)));
  const sig1 = await crypto.subtle.sign({ name: "Ed25519" }, key, new Uint8Array());
  check("the PKCS#8-imported seed signs RFC 8032 test 1", hex(sig1) ===
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  const seed2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
  const key2 = await k.importKey(k.parseSeed(b64(seed2)));
  const sig2 = await crypto.subtle.sign({ name: "Ed25519" }, key2, new Uint8Array([0x72]));
  check("and RFC 8032 test 2", hex(sig2) ===
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");

  const challenge = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
  const login = await k.signChallenge(key, challenge);
  const verifyKey = await crypto.subtle.importKey("raw", Buffer.from(pub, "hex"), { name: "Ed25519" }, false, ["verify"]);
  const data = new TextEncoder().encode("mlvault-console-login\n" + challenge);
  check("the login signature verifies over \"mlvault-console-login\\n\" + challenge",
    await crypto.subtle.verify({ name: "Ed25519" }, verifyKey, Buffer.from(login, "base64"), data));
  check("and not over the challenge alone", !(await crypto.subtle.verify({ name: "Ed25519" }, verifyKey,
    Buffer.from(login, "base64"), new TextEncoder().encode(challenge))));

  const throws = (f, text) => { try { f(); return false; } catch (e) { return String(e.message).includes(text); } };
  check("an empty key says what to paste", throws(() => k.parseSeed("  "), "paste the private key"));
  check("a key that is not base64 is named so", throws(() => k.parseSeed("not base64!"), "not base64"));
  check("a key of the wrong length says 32 bytes", throws(() => k.parseSeed(b64("00ff")), "must be 32 bytes"));

  const file = "# mlvault credentials\n[default]\naccess_key_id = MLVKAAAA\nprivate_key = " + b64(seed) +
    "\n\n[ops]\naccess_key_id = MLVKBBBB\nprivate_key = " + b64(seed2) + "\n";
  const c1 = k.parseCredentialsFile(file);
  check("a credentials file gives its first profile", c1 && c1.accessKeyId === "MLVKAAAA" && c1.privateKey === b64(seed));
  const c2 = k.parseCredentialsFile(file, "ops");
  check("or the named one", c2 && c2.accessKeyId === "MLVKBBBB");
  check("a file without a private key gives nothing", k.parseCredentialsFile("access_key_id = X\nsecret_access_key = y\n") === null);
} catch (e) {
  check("the key test ran", false, String(e && e.stack || e));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`== console_keys: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
