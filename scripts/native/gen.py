#!/usr/bin/env python3
"""Vectors for scripts/compare-native.sh: one stored hash per scheme, made
by the native libraries themselves (libxcrypt for the crypt family, the
reference argon2 built by the script, hashlib for the rest), with the
decoded fields the C references need.

usage: gen.py LIBARGON2_SO PASSWORD > vectors.tsv
TSV: name, kind, stored hash (what passbridge parses), kind fields (see
scripts/native/bench.c). Fresh random salts on every run.
"""
import base64
import ctypes
import hashlib
import os
import sys

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def h64(data: bytes) -> str:
    """phpass encode64 (crypt's little-endian radix-64)."""
    out, i, n = [], 0, len(data)
    while i < n:
        value = data[i]
        i += 1
        out.append(ITOA64[value & 0x3F])
        if i < n:
            value |= data[i] << 8
        out.append(ITOA64[(value >> 6) & 0x3F])
        if i >= n:
            break
        i += 1
        if i < n:
            value |= data[i] << 16
        out.append(ITOA64[(value >> 12) & 0x3F])
        if i >= n:
            break
        i += 1
        out.append(ITOA64[(value >> 18) & 0x3F])
    return "".join(out)


def md5_crypt(pw: bytes, magic: bytes, salt: bytes) -> str:
    """PHK's md5-crypt, for the `$apr1$` row (libxcrypt has no `$apr1$`)."""
    alt = hashlib.md5(pw + salt + pw).digest()
    ctx = pw + magic + salt
    n = len(pw)
    while n > 0:
        ctx += alt[: min(n, 16)]
        n -= 16
    n = len(pw)
    while n:
        ctx += b"\0" if n & 1 else pw[:1]
        n >>= 1
    d = hashlib.md5(ctx).digest()
    for i in range(1000):
        x = (pw if i % 2 else d) + (salt if i % 3 else b"") + (pw if i % 7 else b"") + (d if i % 2 else pw)
        d = hashlib.md5(x).digest()
    order = (12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11)
    return f"{magic.decode()}{salt.decode()}${h64(bytes(d[i] for i in order))}"


def ab64(data: bytes) -> str:
    """passlib's adapted base64: '.' for '+', no padding."""
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def main() -> None:
    argon2_so, password = sys.argv[1], sys.argv[2]
    pw = password.encode()
    libcrypt = ctypes.CDLL("libcrypt.so.1")
    libcrypt.crypt.restype = ctypes.c_char_p
    libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libcrypt.crypt_gensalt.restype = ctypes.c_char_p
    libcrypt.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]

    def crypt(setting: bytes) -> str:
        out = libcrypt.crypt(pw, setting)
        if not out or out.startswith(b"*"):
            sys.exit(f"libxcrypt refused {setting[:4]!r}")
        return out.decode()

    def gensalt(prefix: bytes, count: int) -> bytes:
        return libcrypt.crypt_gensalt(prefix, count, None, 0)

    rows = []
    for cost in (10, 12):
        rows.append((f"bcrypt cost={cost}", "crypt", crypt(gensalt(b"$2b$", cost))))
    for name, prefix in (("sha512-crypt rounds=5000", b"$6$"), ("sha256-crypt rounds=5000", b"$5$")):
        rows.append((name, "crypt", crypt(gensalt(prefix, 5000))))
    rows.append(("md5-crypt", "crypt", crypt(gensalt(b"$1$", 0))))
    # passbridge's pure-Rust paths at the same cost as the two rows that go
    # through libxcrypt (kind "-": no native candidate): what the binding is
    # worth. `$2x$` equals `$2b$` for an ASCII password.
    rows.append(("bcrypt cost=10, pure-Rust path ($2x$)", "-", "$2x$" + rows[0][2][4:]))
    salt_apr = "".join(ITOA64[b & 0x3F] for b in os.urandom(8)).encode()
    rows.append(("md5-crypt, pure-Rust path ($apr1$)", "-", md5_crypt(pw, b"$apr1$", salt_apr)))
    # scrypt N=2^15 r=8 p=1 ($7$: N as log2, r and p as 30-bit radix-64).
    salt7 = "".join(ITOA64[b & 0x3F] for b in os.urandom(16))
    rows.append(("scrypt $7$ N=2^15 r=8 p=1", "crypt", crypt(f"$7$D6..../....{salt7}".encode())))

    argon2 = ctypes.CDLL(argon2_so)
    u32, size, buf = ctypes.c_uint32, ctypes.c_size_t, ctypes.c_char_p
    argon2.argon2_hash.argtypes = [u32, u32, u32, buf, size, buf, size, buf, size, buf, size,
                                   ctypes.c_int, ctypes.c_int]
    for t, m, p in ((2, 19456, 1), (3, 65536, 4)):
        salt, raw = os.urandom(16), ctypes.create_string_buffer(32)
        encoded = ctypes.create_string_buffer(256)
        rc = argon2.argon2_hash(t, m, p, pw, len(pw), salt, len(salt), raw, 32, encoded, 256, 2, 0x13)
        if rc != 0:
            sys.exit(f"argon2_hash failed: {rc}")
        rows.append((f"argon2id m={m} t={t} p={p}", "argon2", encoded.value.decode(),
                     str(t), str(m), str(p), salt.hex(), raw.raw.hex()))

    for alg, iterations, ident in (("sha256", 600_000, "pbkdf2-sha256"), ("sha512", 210_000, "pbkdf2-sha512"),
                                   ("sha1", 100_000, "pbkdf2")):
        salt = os.urandom(16)
        dk = hashlib.pbkdf2_hmac(alg, pw, salt, iterations)
        rows.append((f"pbkdf2-{alg} {iterations} (passlib)", "pbkdf2",
                     f"${ident}${iterations}${ab64(salt)}${ab64(dk)}", alg, str(iterations), salt.hex(), dk.hex()))

    for alg, tag in (("sha1", "SSHA"), ("sha256", "SSHA256"), ("sha512", "SSHA512")):
        salt = os.urandom(8)
        digest = hashlib.new(alg, pw + salt).digest()
        rows.append((f"ldap {{{tag}}}", "salted", f"{{{tag}}}" + base64.b64encode(digest + salt).decode(),
                     alg, salt.hex(), digest.hex()))

    # phpass $P$, 2^13 rounds (WordPress before 6.8).
    log2, salt = 13, "".join(ITOA64[b & 0x3F] for b in os.urandom(8))
    h = hashlib.md5(salt.encode() + pw).digest()
    for _ in range(1 << log2):
        h = hashlib.md5(h + pw).digest()
    rows.append(("phpass $P$ 2^13", "phpass", f"$P${ITOA64[log2]}{salt}{h64(h)}", str(log2), salt, h.hex()))

    for row in rows:
        print("\t".join(row))


if __name__ == "__main__":
    main()
