#!/usr/bin/python3
"""An mlvault API client written only from docs/api.md, with Python's cryptography and urllib.

Usage: independent_client.py ENDPOINT ACCESS_KEY_ID PRIVATE_KEY_B64 [CA_FILE]

Signs requests as docs/api.md says, calls a few operations and checks the documented refusals:
a replayed request, a stale date, a tampered body, a missing signature; then logs in to the
console with a signed challenge and uses the session with its CSRF token. Prints one line per
check and exits non-zero if any failed. Shares no code with mlvault.
"""
import base64
import datetime
import hashlib
import json
import secrets
import ssl
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ENDPOINT, KEY_ID, PRIVATE_B64 = sys.argv[1], sys.argv[2], sys.argv[3]
CONTEXT = ssl.create_default_context(cafile=sys.argv[4]) if len(sys.argv) > 4 else None
KEY = Ed25519PrivateKey.from_private_bytes(base64.b64decode(PRIVATE_B64))
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILURES.append(what)


def sign(method, path, content_type, body, when=None, nonce=None):
    date = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    nonce = nonce or secrets.token_hex(16)
    canonical = "\n".join(["MLVAULT-ED25519", method, path, content_type, date, nonce,
                           hashlib.sha256(body).hexdigest()])
    signature = base64.b64encode(KEY.sign(canonical.encode("utf-8"))).decode("ascii")
    return {"X-Mlvault-Date": date, "X-Mlvault-Nonce": nonce,
            "Authorization": f"MLVAULT-ED25519 Credential={KEY_ID}, Signature={signature}"}


def send(path, body=b"{}", headers=None, method="POST"):
    req = urllib.request.Request(ENDPOINT + path, data=body if method == "POST" else None,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=CONTEXT, timeout=30) as r:
            data = r.read()
            return r.status, dict(r.headers), json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, dict(e.headers), json.loads(data) if data else None


def call(path, payload=None, **kw):
    body = json.dumps(payload or {}).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(sign("POST", path, "application/json", body, **kw))
    return send(path, body, headers), headers, body


# 1. A signed call works and answers the documented JSON.
(status, hdrs, answer), sent, body = call("/api/v1/iam/getCallerIdentity")
check(status == 200 and "userCrn" in (answer or {}), f"signed getCallerIdentity -> {status}")
check(bool(hdrs.get("X-Request-Id")), "the answer carries X-Request-Id")
(status, _, answer), sent, body = call("/api/v1/iam/listUsers")
check(status == 200 and isinstance((answer or {}).get("users"), list), f"signed listUsers -> {status}")

# 2. The same request again (same headers, same nonce): a replay.
status, _, answer = send("/api/v1/iam/listUsers", body, {**sent, "Content-Type": "application/json"})
msg = ((answer or {}).get("error") or {}).get("message", "")
check(status == 401 and "already used" in msg, f"replay refused: {status} {msg[:80]}")

# 3. A date 10 minutes old.
old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
(status, _, answer), _, _ = call("/api/v1/iam/listUsers", when=old)
msg = ((answer or {}).get("error") or {}).get("message", "")
check(status == 401 and "behind the server's clock" in msg, f"stale date refused: {status}")

# 4. A body changed after signing.
path = "/api/v1/iam/listUsers"
headers = {"Content-Type": "application/json",
           **sign("POST", path, "application/json", b"{}")}
status, _, answer = send(path, b'{"x": 1}', headers)
msg = ((answer or {}).get("error") or {}).get("message", "")
check(status == 401 and "does not match" in msg, f"tampered body refused: {status}")

# 5. No signature at all.
status, _, answer = send(path, b"{}", {"Content-Type": "application/json"})
check(status == 401 and answer["error"]["code"] == "unauthenticated", f"unsigned refused: {status}")

# 6. An input error names what is wrong.
(status, _, answer), _, _ = call("/api/v1/iam/noSuchOperation")
check(status == 400, f"unknown operation -> {status}")

# 7. Console login: sign "mlvault-console-login\n" + challenge, then use the cookie + CSRF.
status, _, answer = send("/api/v1/console/challenge", json.dumps({"accessKeyId": KEY_ID}).encode(),
                         {"Content-Type": "application/json"})
check(status == 200 and "challenge" in answer, f"console challenge -> {status}")
challenge = answer["challenge"]
sig = base64.b64encode(KEY.sign(("mlvault-console-login\n" + challenge).encode())).decode()
status, hdrs, answer = send("/api/v1/console/login",
                            json.dumps({"accessKeyId": KEY_ID, "challenge": challenge,
                                        "signature": sig}).encode(),
                            {"Content-Type": "application/json"})
check(status == 200 and "csrfToken" in answer, f"console login -> {status}")
cookie = hdrs.get("Set-Cookie", "").split(";")[0]
check(cookie.startswith("mlvault_session="), "the login sets the mlvault_session cookie")
status, _, _ = send(path, b"{}", {"Content-Type": "application/json", "Cookie": cookie})
check(status == 403, f"session request without X-CSRF-Token -> {status}")
status, _, answer = send(path, b"{}", {"Content-Type": "application/json", "Cookie": cookie,
                                       "X-CSRF-Token": answer["csrfToken"]})
check(status == 200 and "users" in answer, f"session request with its CSRF token -> {status}")
status, _, _ = send("/api/v1/console/logout", b"", {"Cookie": cookie})
check(status == 204, f"logout -> {status}")
status, _, _ = send("/api/v1/console/session", headers={"Cookie": cookie}, method="GET")
check(status == 401, f"the session is over after logout -> {status}")

sys.exit(1 if FAILURES else 0)
