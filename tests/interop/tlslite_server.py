# Copyright 2026 the airlock authors. MIT license.
"""A one-connection TLS 1.3 echo server on tlslite-ng (RFC 8879 in both directions), for
tests/interop/cert_compression_test.ts.

    python3 tlslite_server.py TLSLITE_DIR CERT.pem KEY.pem SEND RECEIVE [CLIENT_AUTH]

TLSLITE_DIR holds tlslite-ng's `tlslite` package (../shared/tools/tlsfuzzer/upstream/tlslite-ng: LGPL code,
run from there, never copied here). SEND and RECEIVE are comma-separated certificate compression algorithms
(zlib, brotli, zstd) the server compresses its Certificate with and accepts a client's in; CLIENT_AUTH
"require" asks for a client certificate. Prints "LISTENING PORT" on 127.0.0.1, serves one connection (echoes
one line prefixed with "echo: "), prints "CLIENT_CERT SUBJECT" when a client certificate came, and exits.
"""

import socket
import sys

sys.path.insert(0, sys.argv[1])

from tlslite.api import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey  # noqa: E402

cert_path, key_path, send, receive = sys.argv[2:6]
client_auth = len(sys.argv) > 6 and sys.argv[6] == "require"

chain = X509CertChain()
with open(cert_path) as f:
    chain.parsePemList(f.read())
with open(key_path) as f:
    key = parsePEMKey(f.read(), private=True)

settings = HandshakeSettings()
settings.minVersion = (3, 4)
settings.maxVersion = (3, 4)
settings.certificate_compression_send = send.split(",")
settings.certificate_compression_receive = receive.split(",")

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(1)
print("LISTENING", listener.getsockname()[1], flush=True)
sock, _ = listener.accept()
listener.close()
sock.settimeout(20)
tls = TLSConnection(sock)
tls.handshakeServer(certChain=chain, privateKey=key, reqCert=client_auth, settings=settings)
if tls.session.clientCertChain is not None:
    print("CLIENT_CERT", tls.session.clientCertChain.getNumCerts(), flush=True)
line = b""
while not line.endswith(b"\n"):
    data = tls.read()
    if not data:
        break
    line += data
tls.write(b"echo: " + line)
tls.close()
print("DONE", flush=True)
