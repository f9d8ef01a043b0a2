#!/usr/bin/env python3
"""verify-modsig.py MODULE.ko CERT.der - check a kernel module's appended
signature (the PKCS#7/CMS blob scripts/sign-file appends, as DKMS signs)
cryptographically against CERT with openssl, the way the kernel would with
CERT in its keyring.

Layout of a signed module: content | CMS signature (DER) | struct
module_signature (12 bytes, sig_len big-endian in the last 4) |
"~Module signature appended~\\n".
Exit 0 valid, 1 invalid or unsigned (the reason on stderr), 2 usage."""
import os
import struct
import subprocess
import sys
import tempfile

MAGIC = b"~Module signature appended~\n"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    data = open(sys.argv[1], "rb").read()
    if not data.endswith(MAGIC):
        print("not signed (no module signature marker)", file=sys.stderr)
        return 1
    info = data[-len(MAGIC) - 12:-len(MAGIC)]
    algo, hash_, id_type, signer_len, key_id_len, _p0, _p1, _p2, sig_len = struct.unpack(">BBBBBBBBI", info)
    if id_type != 2:  # PKEY_ID_PKCS7
        print(f"unexpected signature id_type {id_type}", file=sys.stderr)
        return 1
    end = len(data) - len(MAGIC) - 12
    sig = data[end - sig_len:end]
    content = data[:end - sig_len]
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("sig", "content", "cert.pem")}
        open(paths["sig"], "wb").write(sig)
        open(paths["content"], "wb").write(content)
        subprocess.run(["openssl", "x509", "-inform", "DER", "-in", sys.argv[2], "-out", paths["cert.pem"]],
                       check=True, capture_output=True)
        r = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", paths["sig"],
                            "-content", paths["content"], "-certfile", paths["cert.pem"], "-noverify",
                            "-out", os.devnull], capture_output=True, text=True)
    if r.returncode != 0:
        print("signature does not verify: " + (r.stderr.strip().splitlines() or ["?"])[0], file=sys.stderr)
        return 1
    print(f"valid signature ({sig_len} bytes) over {len(content)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
