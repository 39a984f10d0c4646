// The login page: access key id + private key (pasted, or read from the credentials file).
// The key is imported into WebCrypto here and signs the server's challenge; only the key id,
// the challenge and the signature are sent.
import { ApiError, challenge, login } from "./api";
import { h, replace } from "./dom";
import { importKey, parseCredentialsFile, parseSeed, signChallenge } from "./keys";

export function renderLogin(main: HTMLElement, done: () => void): void {
  const keyId = h("input", { id: "access-key-id", name: "accessKeyId", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("textarea", {
    id: "private-key",
    name: "privateKey",
    rows: 2,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "private-key-hint",
  });
  const file = h("input", { id: "credentials-file", type: "file", "aria-describedby": "credentials-file-hint" });
  const status = h("p", { id: "login-status", class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "login-submit" }, "Log in");
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    const c = parseCredentialsFile(await f.text());
    file.value = "";
    if (!c) {
      status.textContent = `${f.name} has no access_key_id and private_key: choose $MLVAULT_HOME/credentials, or paste them`;
      return;
    }
    keyId.value = c.accessKeyId;
    secret.value = c.privateKey;
    status.textContent = "";
  });
  const form = h(
    "form",
    { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to mlvault"),
    h("p", {}, "Your private key signs a one-time challenge in this browser. It is never sent to the server."),
    h("div", { class: "field" }, h("label", { for: "access-key-id" }, "Access key id"), keyId),
    h(
      "div",
      { class: "field" },
      h("label", { for: "private-key" }, "Private key"),
      secret,
      h("p", { class: "hint", id: "private-key-hint" }, "The private_key value of your credentials file (base64)."),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "credentials-file" }, "…or read both from a credentials file"),
      file,
      h("p", { class: "hint", id: "credentials-file-hint" }, "Usually $MLVAULT_HOME/credentials; it is read here, not uploaded."),
    ),
    submit,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.textContent = "";
    submit.disabled = true;
    try {
      const id = keyId.value.trim();
      if (!id) throw new Error("enter the access key id");
      const key = await importKey(parseSeed(secret.value));
      const c = await challenge(id);
      const sig = await signChallenge(key, c);
      await login(id, c, sig);
      secret.value = "";
      done();
    } catch (e) {
      status.textContent =
        e instanceof ApiError ? `Login refused: ${e.message}` : `Cannot log in: ${(e as Error).message}`;
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, form);
  keyId.focus();
}
