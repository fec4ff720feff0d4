/*
 * A one-connection TLS 1.3 server on NSS with Encrypted Client Hello, for tests/interop/ech_test.ts (NSS 3.87's
 * `selfserv -X` cannot be used: it passes "publicname:NAME" whole as the public name).
 *
 *   ech_server CERT.der KEY.pk8 PUBLIC_NAME CONFIG_ID CONNECTIONS
 *
 * It makes an X25519 ECH key in NSS, prints "ECH <hex ECHConfigList>" and "PORT <n>" (127.0.0.1, a port the
 * system picks), then for each of CONNECTIONS connections: the handshake, "ACCEPTED <0|1>" (whether it used
 * the inner ClientHello), one line read and written back, and "RESULT ok", or "RESULT <NSS error name>" (a
 * client that ends with ech_required, the retry path: SSL_ERROR_ECH_REQUIRED_ALERT). Exit 0 once all are
 * served; 1 with a line on stderr if the setup fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nss.h"
#include "pk11pub.h"
#include "keyhi.h"
#include "cert.h"
#include "secoid.h"
#include "ssl.h"
#include "sslexp.h"
#include "sslerr.h"
#include "sslproto.h"
#include "prio.h"
#include "prerror.h"
#include "prnetdb.h"

static int fail(const char *what) {
  fprintf(stderr, "ech_server: %s failed: %s (%d)\n", what, PR_ErrorToName(PR_GetError()), PR_GetError());
  return 1;
}

static SECItem readFile(const char *path) {
  SECItem item = {siBuffer, NULL, 0};
  FILE *f = fopen(path, "rb");
  if (!f) return item;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  item.data = malloc(n);
  item.len = fread(item.data, 1, n, f);
  fclose(f);
  return item;
}

/** One connection: its outcome is printed (RESULT), not returned. */
static void serve(PRFileDesc *listener, CERTCertificate *cert, SECKEYPrivateKey *key, SECKEYPublicKey *echPub,
                  SECKEYPrivateKey *echPriv, const PRUint8 *configs, unsigned int configsLen) {
  PRFileDesc *tcp = PR_Accept(listener, NULL, PR_SecondsToInterval(20));
  if (!tcp) {
    printf("RESULT %s\n", PR_ErrorToName(PR_GetError()));
    fflush(stdout);
    return;
  }
  PRFileDesc *ssl = SSL_ImportFD(NULL, tcp);
  SSLVersionRange range = {SSL_LIBRARY_VERSION_TLS_1_3, SSL_LIBRARY_VERSION_TLS_1_3};
  SSLChannelInfo info;
  char line[256];
  int n = 0;
  if (!ssl || SSL_OptionSet(ssl, SSL_SECURITY, PR_TRUE) != SECSuccess ||
      SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_SERVER, PR_TRUE) != SECSuccess ||
      SSL_VersionRangeSet(ssl, &range) != SECSuccess ||
      SSL_ConfigServerCert(ssl, cert, key, NULL, 0) != SECSuccess ||
      SSL_SetServerEchConfigs(ssl, echPub, echPriv, configs, configsLen) != SECSuccess ||
      SSL_ResetHandshake(ssl, PR_TRUE) != SECSuccess || SSL_ForceHandshake(ssl) != SECSuccess ||
      SSL_GetChannelInfo(ssl, &info, sizeof(info)) != SECSuccess) {
    printf("RESULT %s\n", PR_ErrorToName(PR_GetError()));
  } else {
    printf("ACCEPTED %d\n", info.echAccepted ? 1 : 0);
    fflush(stdout);
    n = PR_Read(ssl, line, sizeof(line));
    if (n > 0 && PR_Write(ssl, line, n) == n) printf("RESULT ok\n");
    else printf("RESULT %s\n", PR_ErrorToName(PR_GetError()));
  }
  fflush(stdout);
  PR_Close(ssl ? ssl : tcp);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: ech_server CERT.der KEY.pk8 PUBLIC_NAME CONFIG_ID CONNECTIONS\n");
    return 1;
  }
  if (NSS_NoDB_Init(NULL) != SECSuccess) return fail("NSS_NoDB_Init");
  if (NSS_SetDomesticPolicy() != SECSuccess) return fail("NSS_SetDomesticPolicy");
  if (SSL_ConfigServerSessionIDCache(0, 0, 0, NULL) != SECSuccess) return fail("session cache");
  PK11SlotInfo *slot = PK11_GetInternalSlot();

  SECItem certDer = readFile(argv[1]), keyDer = readFile(argv[2]);
  CERTCertificate *cert = CERT_DecodeCertFromPackage((char *)certDer.data, certDer.len);
  if (!cert) return fail("CERT_DecodeCertFromPackage");
  SECKEYPrivateKey *key = NULL;
  if (PK11_ImportDERPrivateKeyInfoAndReturnKey(slot, &keyDer, NULL, NULL, PR_FALSE, PR_FALSE, KU_ALL, &key,
                                               NULL) != SECSuccess) {
    return fail("importing the certificate key");
  }

  /* The ECH key: X25519 in NSS (the curve's OID as EC parameters), its configuration encoded by NSS. */
  SECOidData *oid = SECOID_FindOIDByTag(SEC_OID_CURVE25519);
  if (!oid) return fail("SECOID_FindOIDByTag(curve25519)");
  unsigned char paramsBuf[64];
  paramsBuf[0] = SEC_ASN1_OBJECT_ID;
  paramsBuf[1] = (unsigned char)oid->oid.len;
  memcpy(paramsBuf + 2, oid->oid.data, oid->oid.len);
  SECItem params = {siBuffer, paramsBuf, 2 + oid->oid.len};
  SECKEYPublicKey *echPub = NULL;
  SECKEYPrivateKey *echPriv = SECKEY_CreateECPrivateKey(&params, &echPub, NULL);
  if (!echPriv || !echPub) return fail("SECKEY_CreateECPrivateKey(X25519)");
  HpkeSymmetricSuite suites[] = {{HpkeKdfHkdfSha256, HpkeAeadAes128Gcm},
                                 {HpkeKdfHkdfSha256, HpkeAeadChaCha20Poly1305}};
  PRUint8 configs[1000];
  unsigned int configsLen = 0;
  if (SSL_EncodeEchConfigId((PRUint8)atoi(argv[4]), argv[3], 64, HpkeDhKemX25519Sha256, echPub, suites, 2,
                            configs, &configsLen, sizeof(configs)) != SECSuccess) {
    return fail("SSL_EncodeEchConfigId");
  }
  printf("ECH ");
  for (unsigned int i = 0; i < configsLen; i++) printf("%02x", configs[i]);
  printf("\n");

  PRFileDesc *listener = PR_NewTCPSocket();
  PRNetAddr addr;
  PR_InitializeNetAddr(PR_IpAddrLoopback, 0, &addr);
  if (PR_Bind(listener, &addr) != PR_SUCCESS || PR_Listen(listener, 1) != PR_SUCCESS) return fail("listen");
  PR_GetSockName(listener, &addr);
  printf("PORT %d\n", PR_ntohs(addr.inet.port));
  fflush(stdout);

  for (int i = 0; i < atoi(argv[5]); i++) serve(listener, cert, key, echPub, echPriv, configs, configsLen);
  PR_Close(listener);
  return 0;
}
