#!/usr/bin/python3
"""Replay protection and console sessions across two servers sharing one catalog.

Usage: shared_auth_client.py ENDPOINT_A ENDPOINT_B ACCESS_KEY_ID PRIVATE_KEY_B64

Signs requests as docs/api.md says (Python's cryptography and urllib only) and checks that the
servers share what a client could otherwise play one against the other: a signed request
accepted by A is refused as a replay by B (and the other way round); a console challenge issued
by A is good once, on B; a session opened on B works on A (with its CSRF token), and a logout on
A ends it on B. Prints one line per check; exits non-zero if any failed.
"""
import base64
import datetime
import hashlib
import json
import secrets
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

A, B, KEY_ID, PRIVATE_B64 = sys.argv[1:5]
KEY = Ed25519PrivateKey.from_private_bytes(base64.b64decode(PRIVATE_B64))
FAILURES = []
JSON = {"Content-Type": "application/json"}


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILURES.append(what)


def signed_headers(path, body):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    nonce = secrets.token_hex(16)
    canonical = "\n".join(["MLVAULT-ED25519", "POST", path, "application/json", date, nonce,
                           hashlib.sha256(body).hexdigest()])
    signature = base64.b64encode(KEY.sign(canonical.encode("utf-8"))).decode("ascii")
    return {**JSON, "X-Mlvault-Date": date, "X-Mlvault-Nonce": nonce,
            "Authorization": f"MLVAULT-ED25519 Credential={KEY_ID}, Signature={signature}"}


def send(endpoint, path, body=b"{}", headers=None, method="POST"):
    req = urllib.request.Request(endpoint + path, data=body if method == "POST" else None,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            return r.status, dict(r.headers), json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, dict(e.headers), json.loads(data) if data else None


def message(answer):
    return ((answer or {}).get("error") or {}).get("message", "")


PATH = "/api/v1/iam/listUsers"

# 1. A request signed once, sent to A, then replayed to B; and one sent to B replayed to A.
for first, second, names in ((A, B, "A then B"), (B, A, "B then A")):
    headers = signed_headers(PATH, b"{}")
    status, _, answer = send(first, PATH, b"{}", headers)
    check(status == 200 and "users" in (answer or {}), f"signed listUsers ({names}): first -> {status}")
    status, _, answer = send(second, PATH, b"{}", headers)
    check(status == 401 and "already used" in message(answer),
          f"the same request replayed to the other server is refused: {status} {message(answer)[:70]}")

# 2. A console challenge from A, used on B; then once more on A.
status, _, answer = send(A, "/api/v1/console/challenge",
                         json.dumps({"accessKeyId": KEY_ID}).encode(), JSON)
check(status == 200 and "challenge" in (answer or {}), f"challenge from A -> {status}")
challenge = (answer or {}).get("challenge", "")
login = json.dumps({"accessKeyId": KEY_ID, "challenge": challenge,
                    "signature": base64.b64encode(
                        KEY.sign(("mlvault-console-login\n" + challenge).encode())).decode()}).encode()
status, hdrs, session = send(B, "/api/v1/console/login", login, JSON)
check(status == 200 and "csrfToken" in (session or {}), f"login on B with A's challenge -> {status}")
status, _, answer = send(A, "/api/v1/console/login", login, JSON)
check(status == 401 and "challenge" in message(answer),
      f"the challenge is used up on A too: {status} {message(answer)[:60]}")

# 3. B's session on A: reads, writes with the CSRF token, refused without it; logout on A.
cookie = hdrs.get("Set-Cookie", "").split(";")[0]
csrf = (session or {}).get("csrfToken", "")
status, _, answer = send(A, "/api/v1/console/session", headers={"Cookie": cookie}, method="GET")
check(status == 200 and (answer or {}).get("accessKeyId") == KEY_ID,
      f"the session opened on B is known to A -> {status}")
status, _, _ = send(A, PATH, b"{}", {**JSON, "Cookie": cookie})
check(status == 403, f"A: a session request without X-CSRF-Token -> {status}")
status, _, answer = send(A, PATH, b"{}", {**JSON, "Cookie": cookie, "X-CSRF-Token": csrf})
check(status == 200 and "users" in (answer or {}), f"A: a session request with its CSRF token -> {status}")
status, _, _ = send(A, "/api/v1/console/logout", b"", {"Cookie": cookie})
check(status == 204, f"logout on A -> {status}")
status, _, _ = send(B, "/api/v1/console/session", headers={"Cookie": cookie}, method="GET")
check(status == 401, f"the session is over on B too -> {status}")

sys.exit(1 if FAILURES else 0)
