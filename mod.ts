/**
 * airlock: a sans-I/O TLS 1.3 and 1.2 engine over an in-memory BIO pair, with OpenSSL's pumping semantics.
 *
 * The engine reads and writes bytes only through its half of a {@link createBioPair BIO pair}; the caller
 * moves bytes between the pair's `network` half and any transport, whenever a call says WANT_READ or
 * WANT_WRITE. Calls return OpenSSL's values and `getError(ret)` says why.
 *
 * @example Client and server in memory
 * ```ts
 * import "reflect-metadata";
 * import * as x509 from "@peculiar/x509";
 * import { createBioPair, createClient, createServer, loadPrivateKey, SslError } from "@airlock/tls";
 *
 * // A throwaway self-signed certificate; the client below does not verify it.
 * const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
 * const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
 * const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: "CN=localhost", keys, signingAlgorithm: alg }, crypto);
 * const chain = [new Uint8Array(cert.rawData)];
 * const key = await loadPrivateKey(new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)));
 *
 * const c = createBioPair(), s = createBioPair();
 * const client = createClient({ serverName: "localhost", dangerouslyDisableCertificateVerification: true }, c.engine);
 * const server = createServer({ certificates: [{ chain, key }] }, s.engine);
 * for (let i = 0; i < 100 && !(client.isHandshakeDone && server.isHandshakeDone); i++) {
 *   for (const e of [client, server]) {
 *     const r = e.doHandshake();
 *     if (r < 0 && e.getError(r) === SslError.WANT_ASYNC) await e.asyncWait();
 *   }
 *   s.network.write(c.network.read(s.network.writeGuarantee()));
 *   c.network.write(s.network.read(c.network.writeGuarantee()));
 * }
 * if (client.handshakeInfo?.version !== "TLSv1.3") throw new Error("no handshake");
 * ```
 * @module
 */

export { type Bio, type BioPair, createBioPair } from "./bio/mod.ts";
export { TlsEngine } from "./engine/engine.ts";
export { createClient, createServer } from "./engine/create.ts";
export { SslError, type SslErrorCode, sslErrorName } from "./engine/codes.ts";
export {
  InvalidCertificate,
  InvalidMessage,
  LocalError,
  PeerIncompatible,
  PeerMisbehaved,
  PolicyError,
  type ReceivedAlertName,
  TlsError,
  type TlsErrorCode,
} from "./engine/errors.ts";
export { AlertDescription, type AlertName, alertName } from "./engine/alert.ts";
export {
  type AlertInfo,
  type EngineEventMap,
  type EngineEventName,
  type HandshakeInfo,
  type MessageInfo,
  on,
  type SecretsInfo,
  type StoreErrorInfo,
} from "./engine/events.ts";
export type {
  CertificateRequestInfo,
  CertificateSelectInfo,
  CertifiedKey,
  CipherSuiteName,
  ClientAuthConfig,
  ClientConfig,
  ClientHelloDecision,
  ClientHelloInfo,
  ClientRawPublicKeys,
  CommonConfig,
  GroupName,
  PeerVerifyInfo,
  RawPublicKeyInfo,
  RawPublicKeyTrust,
  ServerConfig,
  ServerOverrides,
  VersionName,
} from "./engine/config.ts";
export type { Extension } from "./engine/msgs/extensions.ts";
export type { ExternalPsk, PskHash, PskLookup, PskLookupResult, PskMode } from "./engine/external_psk.ts";
export { EchRejectedError } from "./engine/ech/client.ts";
export type { EchClientOptions, EchServerKey } from "./engine/ech/options.ts";
export {
  type EchCipherSuite,
  type EchConfig,
  type EchKey,
  type EchKeyOptions,
  encodeEchConfigList,
  encodeEchKeyPem,
  generateEchKey,
  parseEchConfigList,
  parseEchKeyPem,
} from "./engine/ech/config.ts";
export {
  customSigningKey,
  type KeyType,
  type PublicKey,
  type SigningKey,
  type SigSchemeName,
  type X509SignatureResult,
} from "./suites/sign.ts";
export type { KeyShare, KxGroup, KxOperations, KxResponse } from "./suites/kx.ts";
export type { Tls13Suite } from "./suites/tls13.ts";
export type { Tls12SuiteName } from "./suites/tls12.ts";
export { type Aead, type AeadKey, customAead, type NativeAeadKey } from "./suites/aead.ts";
export { customHash, type Hash, type HashName, type HashState } from "./suites/hash.ts";
export { pemDecode, pemEncode } from "./suites/pem.ts";
export { type CryptoProvider, nobleProvider, webCryptoProvider } from "./suites/provider.ts";
export { nodeCryptoProvider } from "./suites/node_crypto.ts";
export {
  type CertCompressionName,
  type CertCompressor,
  certCompressors,
  webZlibCompressor,
} from "./suites/cert_compression.ts";
export {
  defaultProvider,
  fastestProvider,
  installDefaultProvider,
  loadPrivateKey,
} from "./suites/default_provider.ts";
export {
  alertForVerifyError,
  type CertificateAlertName,
  type CertificateSignatureCheck,
  matchesPeerName,
  verifyCertificateChain,
  type VerifyErrorCode,
  type VerifyOptions,
  type VerifyPurpose,
  type VerifyResult,
} from "./verify/mod.ts";
export {
  type AntiReplay,
  SessionCache,
  type SessionIdStore,
  StrikeRegister,
  TicketKeys,
  type TicketStore,
  TlsSession,
} from "./engine/session.ts";
export { quicCryptoError, quicInitialSecrets, type QuicLevel, quicPacketKeys } from "./engine/quic.ts";
