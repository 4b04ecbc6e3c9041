#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into fuzz/corpus/<target>/ from the
public hash corpus, the example config and small hand-made inputs."""
import hashlib, json, os, re, pathlib

root = pathlib.Path(__file__).resolve().parent
repo = root.parent
corpus = root / "corpus"

def put(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / (hashlib.sha1(data).hexdigest()[:16] + "-" + name)).write_bytes(data)

schemes = re.findall(r'^\s+\w+ => "([a-zA-Z0-9_]+)", "', (repo / "src/hash/scheme.rs").read_text(), re.M)
index = {s: i for i, s in enumerate(schemes)}
keys = ["algorithm", "dklen", "encoding", "inner_scheme", "iterations", "ln", "n", "p",
        "pepper", "pepper_encoding", "r", "salt_bytes", "salt_encoding", "salt_position",
        "secret", "username", "signer_key", "salt_separator", "rounds", "mem_cost"]

rows = [json.loads(l) for l in (repo / "tests/data/hashcorpus/public.jsonl").read_text().splitlines() if l.strip()]
for n, row in enumerate(rows):
    h = row.get("hash") or ""
    put("identify_parse", f"c{n}", h)
    s = row.get("scheme")
    if s in index:
        hints = row.get("hints") or row.get("params") or {}
        salt = row.get("salt") or (hints.get("salt") if isinstance(hints, dict) else None) or ""
        user = row.get("username") or ""
        lines = [h, str(salt), str(user), str(row.get("password") or "")]
        if isinstance(hints, dict):
            for k, v in hints.items():
                if k in keys and v is not None:
                    lines.append(chr(keys.index(k)) + str(v))
        put("family_parse", f"c{n}", bytes([index[s], 7]) + "\n".join(lines).encode())

put("hook_request", "okta", json.dumps({
    "eventId": "abc", "eventType": "com.okta.user.credential.password.import",
    "data": {"context": {"request": {"id": "passbridge-hook-test-1", "ipAddress": "203.0.113.9"},
             "credential": {"username": "Alice@Example.com", "password": "pw"}},
             "action": {"credential": "UNVERIFIED"}}}))
put("hook_request", "minimal", '{"data":{"context":{"credential":{"username":"a","password":"b"}}}}')
put("hook_request", "ipv6", '{"data":{"context":{"request":{"ipAddress":"2001:db8::1"},"credential":{"username":" \\u0130x ","password":"b"}}}}')

put("config_toml", "example", (repo / "passbridge.example.toml").read_text())
put("config_toml", "env", 'listen = "127.0.0.1:9000"\n[legacy]\nurl = "sqlite://u.db"\nquery = "SELECT password_hash FROM u WHERE login = ?"\n\0HOOK_SECRET=0123456789abcdef0123\nHOOK_BUDGET=2s\nTLS_CERT=c.pem\nTLS_KEY=k.pem\n')

put("import_csv", "basic", "login,email,password_hash,salt,scheme,firstName\nalice@example.com,,$2b$04$abcdefghijklmnopqrstuu5Ql1gJjLQ4Y7QGQ1y6sWl6r0u3fFvLe,,,Alice\nbob,bob@example.com,5f4dcc3b5aa765d61d8327deb882cf99,,hex_md5,Bob\n")
put("import_csv", "salted", "login,password_hash,salt,scheme\nc@x,{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=,,\nd@x,aa,\"s,alt\",salted_sha256\n")
# jwt: byte 0 = token length, then a JWKS document, then the token.
def b64u(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=")
jwks_docs = [
    b'{"keys":[]}',
    json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "e": "AQAB", "n": b64u(bytes(range(256))).decode()}]}).encode(),
    json.dumps({"keys": [{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64u(bytes(32)).decode(), "y": b64u(bytes(32)).decode()}, {"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}).encode(),
]
claims = {"ver": 1, "jti": "AT.x", "iss": "https://example.okta.com/oauth2/default", "aud": "api://passbridge",
          "iat": 1800000000, "exp": 1800003600, "cid": "0oa-hook", "scp": ["passbridge.hook"], "sub": "0oa-hook"}
for i, doc in enumerate(jwks_docs):
    for j, header in enumerate([{"alg": "RS256", "kid": "k1"}, {"alg": "none"}, {"alg": "HS256", "kid": "k1"}, {"alg": "ES256", "kid": "e1"}]):
        token = (b64u(json.dumps(header).encode()) + b"." + b64u(json.dumps(claims).encode()) + b"." + b64u(bytes(64)))[:255]
        put("jwt", f"jwks{i}-alg{j}", bytes([len(token)]) + doc + token)
print("seeded", {p.name: len(list(p.iterdir())) for p in corpus.iterdir()})
