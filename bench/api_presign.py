#!/usr/bin/python3
"""Pre-signs listWorkspaceBackups requests for bench/api.sh (docs/api.md scheme).

Usage: api_presign.py KEY_ID PRIVATE_KEY_B64 CRN_FILE COUNT OUT_PREFIX THREADS

Each request gets its own nonce (the server refuses replays), all dated now: they must be sent
within the server's 5-minute window. Writes OUT_PREFIX.<i> for each wrk thread, one request a
line: date, nonce, authorization, body (tab-separated). The workspace CRNs are used round-robin.
"""
import base64
import datetime
import hashlib
import json
import secrets
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

key_id, private_b64, crn_file, count, prefix, threads = sys.argv[1:7]
count, threads = int(count), int(threads)
key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_b64))
crns = [line.strip() for line in open(crn_file) if line.strip()]
path = "/api/v1/ml/listWorkspaceBackups"
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
outs = [open(f"{prefix}.{i}", "w") for i in range(threads)]
for n in range(count):
    body = json.dumps({"workspaceCrn": crns[n % len(crns)]}, separators=(",", ":"))
    nonce = secrets.token_hex(16)
    canonical = "\n".join(["MLVAULT-ED25519", "POST", path, "application/json", date, nonce,
                           hashlib.sha256(body.encode()).hexdigest()])
    sig = base64.b64encode(key.sign(canonical.encode())).decode()
    auth = f"MLVAULT-ED25519 Credential={key_id}, Signature={sig}"
    outs[n % threads].write(f"{date}\t{nonce}\t{auth}\t{body}\n")
for f in outs:
    f.close()
