/**
 * Wire constants (RFC 8446 §B.3 and the IANA registries), as `as const` tables with a name lookup.
 * Unknown values stay numbers: the codec never drops them.
 * @module
 */

/** Record content types (RFC 8446 §5.1). */
export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;

/** Handshake message types (RFC 8446 §4). */
export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  endOfEarlyData: 5,
  encryptedExtensions: 8,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
  keyUpdate: 24,
  compressedCertificate: 25, // RFC 8879 §4
  messageHash: 254,
} as const;

/** Extension types (RFC 8446 §4.2 and others). */
export const ExtensionType = {
  serverName: 0,
  maxFragmentLength: 1,
  statusRequest: 5,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  alpn: 16,
  useSrtp: 14,
  heartbeat: 15,
  signedCertificateTimestamp: 18,
  clientCertificateType: 19,
  serverCertificateType: 20,
  padding: 21,
  extendedMasterSecret: 23,
  compressCertificate: 27, // RFC 8879 §3
  recordSizeLimit: 28,
  sessionTicket: 35,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  pskKeyExchangeModes: 45,
  certificateAuthorities: 47,
  oidFilters: 48,
  postHandshakeAuth: 49,
  signatureAlgorithmsCert: 50,
  keyShare: 51,
  quicTransportParameters: 0x39,
  // draft-ietf-tls-esni (RFC 9849)
  echOuterExtensions: 0xfd00,
  encryptedClientHello: 0xfe0d,
  renegotiationInfo: 0xff01,
} as const;

/** Protocol versions. */
export const ProtocolVersion = {
  ssl3: 0x0300,
  tls10: 0x0301,
  tls11: 0x0302,
  tls12: 0x0303,
  tls13: 0x0304,
} as const;

/** Named groups (RFC 8446 §4.2.7, draft-ietf-tls-ecdhe-mlkem). */
export const NamedGroup = {
  secp256r1: 0x0017,
  secp384r1: 0x0018,
  secp521r1: 0x0019,
  x25519: 0x001d,
  x448: 0x001e,
  ffdhe2048: 0x0100,
  ffdhe3072: 0x0101,
  ffdhe4096: 0x0102,
  ffdhe6144: 0x0103,
  ffdhe8192: 0x0104,
  X25519MLKEM768: 0x11ec, // draft-ietf-tls-ecdhe-mlkem
} as const;

/** TLS 1.3 cipher suites (RFC 8446 §B.4). */
export const CipherSuite = {
  TLS_AES_128_GCM_SHA256: 0x1301,
  TLS_AES_256_GCM_SHA384: 0x1302,
  TLS_CHACHA20_POLY1305_SHA256: 0x1303,
} as const;

/** Certificate compression algorithms (RFC 8879 §3, §7.3; zstd: RFC 8879 registry, RFC 8478). */
export const CertificateCompressionAlgorithm = { zlib: 1, brotli: 2, zstd: 3 } as const;

/** PSK key exchange modes (RFC 8446 §4.2.9). */
export const PskKeyExchangeMode = { pskKe: 0, pskDheKe: 1 } as const;

function nameTable(table: Record<string, number>): (v: number) => string {
  const m = new Map(Object.entries(table).map(([k, v]) => [v, k]));
  return (v) => m.get(v) ?? `0x${v.toString(16).padStart(4, "0")}`;
}

/** Name of a handshake type, for messages. */
export const handshakeName: (v: number) => string = nameTable(HandshakeType);
/** Name of an extension type. */
export const extensionName: (v: number) => string = nameTable(ExtensionType);
/** Name of a named group. */
export const groupName: (v: number) => string = nameTable(NamedGroup);
/** Name of a cipher suite. */
export const cipherSuiteName: (v: number) => string = nameTable(CipherSuite);
/** Name of a certificate compression algorithm ("brotli"), or its hex value. */
export const compressionAlgorithmName: (v: number) => string = nameTable(CertificateCompressionAlgorithm);
/** Name of a content type. */
export const contentTypeName: (v: number) => string = nameTable(ContentType);
