# Load helper for docs/reliability.md: opens N idle TCP connections to the
# hook, then times one real sign-in as the demo user alice.
# Usage: python3 scripts/idle-flood.py HOST:PORT HOOK_SECRET N
import json, socket, sys, time, urllib.request
addr, secret, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = addr.split(":")
socks = []
for _ in range(n):
    s = socket.socket(); s.setblocking(True)
    s.connect((host, int(port)))
    socks.append(s)
body = json.dumps({"eventType": "com.okta.user.credential.password.import",
    "data": {"context": {"credential": {"username": "alice@example.com", "password": "alice-Passw0rd!"}},
             "action": {"credential": "UNVERIFIED"}}}).encode()
req = urllib.request.Request(f"http://{addr}/hooks/password-import", data=body,
    headers={"Authorization": secret, "Content-Type": "application/json"})
t = time.time()
resp = urllib.request.urlopen(req, timeout=60).read()
print(f"{n} idle connections open; sign-in answered in {time.time()-t:.2f}s: {resp.decode()}")
