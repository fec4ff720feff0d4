/**
 * Building an engine: `createClient` and `createServer` check and normalize the configuration (what the
 * client verifies; the server's tickets, session IDs, early data and client authentication) and hand the first
 * state to {@link TlsEngine}. Per-configuration stores live here, so that reusing a configuration resumes.
 * @module
 */

import { clientEchSetting } from "./ech/client.ts";
import { serverEchSetup } from "./ech/server.ts";
import type { Bio } from "../bio/bio.ts";
import {
  type ClientConfig,
  decodeAnchors,
  normalizeCertificates,
  normalizeCommon,
  type Normalized,
  type ServerConfig,
  type ServerOverrides,
} from "./config.ts";
import { TlsEngine } from "./engine.ts";
import { startClient } from "./client/hello.ts";
import { ExpectClientHello } from "./server/hello.ts";
import type { ServerOptions, ServerSetup } from "./server/common.ts";
import type { ClientOptions } from "./client/common.ts";
import { subjectName, type VerifyPolicy } from "./peer_verify.ts";
import { normalizeHostName } from "../verify/names.ts";
import { SessionCache, type SessionIdStore, StrikeRegister, TicketKeys } from "./session.ts";
import { defaultProvider } from "../suites/default_provider.ts";
import { clientPskSetup, serverPskSetup } from "./external_psk.ts";
import { clientBinding, DEFAULT_AUTHENTICATION_LIFETIME, serverSessionContext } from "./binding.ts";
import {
  CertificateType,
  clientCertificateTypes,
  normalizeRawKeyTrust,
  type ServerCertificateTypes,
  serverRawKey,
} from "./raw_keys.ts";

/**
 * Create a TLS client over `bio` (the engine half of a BIO pair).
 *
 * Verification is on by default: pass `verifyPeer` to decide on the server's chain, or set
 * `dangerouslyDisableCertificateVerification` for tests.
 *
 * @example A client handshake over a BIO pair
 * ```ts
 * import { createBioPair, createClient, SslError } from "@airlock/tls";
 * const { engine, network } = createBioPair();
 * const tls = createClient({ serverName: "example.com", verifyPeer: () => true }, engine);
 * let ret = tls.doHandshake();
 * // With a native provider (the default), the key shares are made asynchronously: wait, then call again.
 * while (tls.getError(ret) === SslError.WANT_ASYNC) {
 *   await tls.asyncWait();
 *   ret = tls.doHandshake();
 * }
 * if (ret !== -1 || tls.getError(ret) !== SslError.WANT_READ) throw new Error("expected WANT_READ");
 * if (network.pending() === 0) throw new Error("expected a ClientHello");
 * ```
 *
 * @param config Client options.
 * @param bio The engine half of a BIO pair.
 * @returns The engine.
 * @throws {TypeError} If the configuration would not verify the server, or `serverName` is not a valid host
 * name (see `ClientConfig.serverName`).
 * @throws {RangeError} If an option is out of range, or a label of `serverName` is over 63 octets or the
 * name over 253.
 */
export function createClient(config: ClientConfig, bio?: Bio): TlsEngine {
  const insecure = config.dangerouslyDisableCertificateVerification === true;
  const verifies = !!(config.trustAnchors || config.verifyPeer || config.retryVerify || insecure);
  // RFC 7250: a client that takes only raw keys never verifies a chain; its raw keys need pins or a callback.
  const rawTypes = clientCertificateTypes(config.rawPublicKeys, config.clientCertificate !== undefined);
  const rawKeys = rawTypes && normalizeRawKeyTrust(config.rawPublicKeys, "rawPublicKeys");
  const x509 = !rawTypes || rawTypes.server.includes(CertificateType.x509);
  // With external PSKs alone there is no certificate to verify: the PSK authenticates the server.
  if (x509 && !verifies && !(config.psks && config.psks.length > 0)) {
    throw new TypeError(
      "Cannot create client: pass trustAnchors (and serverName) to verify the server's certificate, " +
        "verifyPeer or retryVerify to decide yourself, or set dangerouslyDisableCertificateVerification: true (tests only)",
    );
  }
  if (insecure && config.verifyPeer) {
    // verifyPeer would never run: the caller believes a check happens that does not.
    throw new TypeError(
      "Cannot create client: dangerouslyDisableCertificateVerification skips every check, so verifyPeer " +
        "would never run; drop one of them (verifyPeer alone runs your check without trust anchors)",
    );
  }
  if (config.trustAnchors && !config.serverName && !insecure) {
    throw new TypeError(
      "Cannot create client: trustAnchors needs serverName, the name the certificate must match",
    );
  }
  // A client that can judge the server some other way (a chain, a raw key) is not PSK-only.
  const { psks, cfg } = clientPskSetup(config, normalizeCommon(config), verifies || rawKeys !== undefined);
  checkTransport(cfg, bio, "client");
  if (rawTypes && cfg.minVersion < 0x0304) {
    throw new RangeError(
      'Cannot create client: raw public keys (rawPublicKeys) are TLS 1.3 only here; set minVersion: "TLSv1.3"',
    );
  }
  // RFC 6066 §3: server_name holds the A-label name without a trailing dot, never an IP literal.
  const host = config.serverName === undefined
    ? undefined
    : normalizeHostName(config.serverName, "serverName");
  const policy: VerifyPolicy = {
    trustAnchors: decodeAnchors(config.trustAnchors, "trustAnchors"),
    verifyPeer: config.verifyPeer,
    retryVerify: config.retryVerify === true,
    insecure,
    purpose: "server",
    peerName: host?.name,
    ...(rawKeys ? { rawKeys } : {}),
  };
  const sni = host?.kind === "dns" ? host.name : undefined;
  const ech = clientEchSetting(config.ech, cfg.maxVersion);
  // A fixed client certificate is checked now, as a server's are (its key must be the leaf's).
  const fixed = config.clientCertificate;
  if (fixed !== undefined && typeof fixed !== "function") normalizeCertificates([fixed]);
  const options: ClientOptions = Object.freeze({
    offerTickets: config.offerTickets,
    helloExtensions: config.helloExtensions,
    fallbackScsv: config.fallbackScsv,
    earlyData: config.earlyData,
    middleboxCompat: config.middleboxCompat,
    keyShareCount: config.keyShareCount,
    clientCertificate: config.clientCertificate,
    session: config.session,
    rawPublicKeys: config.rawPublicKeys,
  });
  // Sessions are bound per configuration object (binding.ts caches it), so reusing a configuration resumes.
  const binding = clientBinding(config, policy, cfg.provider.hash("SHA-256").digest);
  return new TlsEngine(bio, "client", cfg, (cx) => startClient(cx, options, policy, binding, sni, psks, ech));
}

/** Records need a BIO; QUIC mode has none (bytes go by level). */
function checkTransport(cfg: Normalized, bio: Bio | undefined, role: string): void {
  if (!cfg.quic && !bio) throw new TypeError(`Cannot create ${role}: pass the engine half of a BIO pair`);
  if (cfg.quic && bio) {
    throw new TypeError(`Cannot create ${role}: QUIC mode takes no BIO (use provideQuicData)`);
  }
  if (cfg.quic && cfg.alpn.length === 0 && role === "client") {
    throw new TypeError("Cannot create client: QUIC requires ALPN (alpnProtocols)");
  }
}

/** One default ticket store per server configuration object: reuse the config, and tickets resume. */
const defaultStores = new WeakMap<ServerConfig, TicketKeys>();

/** Each server configuration object's session context digest, computed once. */
const contexts = new WeakMap<ServerConfig, Uint8Array>();

function ticketSetup(config: ServerConfig, clientAuth: ServerSetup["clientAuth"]): ServerSetup["tickets"] {
  const t = config.tickets;
  if (t === false) return undefined;
  const count = t?.count ?? 2;
  const lifetime = t?.lifetime ?? 7200;
  const authenticationLifetime = t?.authenticationLifetime ?? DEFAULT_AUTHENTICATION_LIFETIME;
  if (!Number.isInteger(count) || count < 0 || count > 16) {
    throw new RangeError(`Cannot configure tickets.count: ${count} is outside 0..16`);
  }
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 604800) {
    throw new RangeError(`Cannot configure tickets.lifetime: ${lifetime} is outside 1..604800 seconds`);
  }
  const maxAuth = DEFAULT_AUTHENTICATION_LIFETIME;
  if (
    !Number.isInteger(authenticationLifetime) || authenticationLifetime < 1 ||
    authenticationLifetime > maxAuth
  ) {
    throw new RangeError(
      `Cannot configure tickets.authenticationLifetime: ${authenticationLifetime} is outside 1..${maxAuth} seconds`,
    );
  }
  let store = t?.store;
  if (!store) {
    store = defaultStores.get(config);
    // Keys from the configured random source, so that injected randomness stays reproducible; sealed with
    // the provider's AES-256-GCM (noble's took 3% of a TLS 1.3 handshake on Node).
    if (!store) {
      const aead = (config.provider ?? defaultProvider()).aead("AES-256-GCM");
      defaultStores.set(config, store = new TicketKeys(config.random, aead));
    }
  }
  return { store, count, lifetime, authenticationLifetime, context: sessionContextOf(config, clientAuth) };
}

/** The session context digest of a configuration (binding.ts), computed once per configuration object. */
function sessionContextOf(config: ServerConfig, clientAuth: ServerSetup["clientAuth"]): Uint8Array {
  let context = contexts.get(config);
  if (!context) {
    const sc = config.sessionContext;
    const policy = clientAuth?.policy;
    context = serverSessionContext({
      clientAuth: clientAuth && policy && {
        required: clientAuth.required,
        trustAnchors: policy.trustAnchors,
        verifyPeer: policy.verifyPeer !== undefined,
        retryVerify: policy.retryVerify,
        rawKeys: policy.rawKeys,
      },
      sessionContext: typeof sc === "string" ? new TextEncoder().encode(sc) : sc ?? new Uint8Array(0),
    });
    contexts.set(config, context);
  }
  return context;
}

const defaultSessionIds = new WeakMap<ServerConfig, SessionCache>();

function sessionIdSetup(config: ServerConfig): SessionIdStore | undefined {
  if (config.tickets === false || config.sessionIdCache === false) return undefined;
  if (config.sessionIdCache) return config.sessionIdCache;
  let cache = defaultSessionIds.get(config);
  if (!cache) defaultSessionIds.set(config, cache = new SessionCache());
  return cache;
}

const defaultStrikes = new WeakMap<ServerConfig, StrikeRegister>();

function earlyDataSetup(config: ServerConfig, tickets: ServerSetup["tickets"]): ServerSetup["earlyData"] {
  const e = config.earlyData;
  if (!e || !tickets) return undefined;
  if (!Number.isInteger(e.maxSize) || e.maxSize < 1 || e.maxSize > 2 ** 20) {
    throw new RangeError(`Cannot configure earlyData.maxSize: ${e.maxSize} is outside 1..1048576`);
  }
  // Single-use tickets cannot be replayed; stateless ones need ClientHello recording.
  if (tickets.store instanceof SessionCache) return { maxSize: e.maxSize, antiReplay: undefined };
  let antiReplay = e.antiReplay ?? defaultStrikes.get(config);
  if (!antiReplay) defaultStrikes.set(config, antiReplay = new StrikeRegister());
  return { maxSize: e.maxSize, antiReplay };
}

/**
 * Create a TLS server over `bio` (the engine half of a BIO pair).
 *
 * @example A server waits for a ClientHello
 * ```ts ignore
 * import { createBioPair, createServer, loadPrivateKey, SslError } from "@airlock/tls";
 * const { engine } = createBioPair();
 * const key = await loadPrivateKey(keyPem);
 * const tls = createServer({ certificates: [{ chain: certPem, key }] }, engine);
 * const ret = tls.doHandshake(); // -1, WANT_READ until the client's bytes arrive
 * ```
 *
 * @param config Server options: at least one certificate chain and key.
 * @param bio The engine half of a BIO pair.
 * @returns The engine.
 */
export function createServer(config: ServerConfig, bio?: Bio): TlsEngine {
  const hasCerts = config.certificates !== undefined && config.certificates.length > 0;
  const { psks, cfg } = serverPskSetup(config, normalizeCommon(config), hasCerts);
  checkTransport(cfg, bio, "server");
  const rawKey = config.rawPublicKey && serverRawKey(config.rawPublicKey);
  const certs = hasCerts || (!psks && !rawKey) ? normalizeCertificates(config.certificates ?? []) : [];
  if (certs.length === 0 && !psks && cfg.minVersion < 0x0304) {
    throw new RangeError(
      'Cannot create server: with only a raw public key (no certificates) it speaks TLS 1.3 only; set minVersion: "TLSv1.3"',
    );
  }
  let key: Uint8Array | undefined;
  const cookieKey = () => (key ??= cfg.random(32));
  const clientAuth = clientAuthSetup(config.clientAuth);
  const ech = serverEchSetup(config.echKeys);
  return new TlsEngine(
    bio,
    "server",
    cfg,
    () => {
      const tickets = ticketSetup(config, clientAuth);
      const setup: ServerSetup = {
        options: serverOptions(config),
        certs,
        rawKey,
        certificateTypes: serverCertificateTypes(certs, rawKey, config.clientAuth),
        cookieKey,
        clientAuth,
        tickets,
        sessionIds: sessionIdSetup(config),
        earlyData: earlyDataSetup(config, tickets),
        psks,
        ech,
        reconfigure: (overrides) => reconfigured(setup, config, overrides),
      };
      return new ExpectClientHello(setup);
    },
  );
}

/** The server options the states read (ServerOptions), frozen: states never see the raw configuration. */
function serverOptions(config: ServerConfig): ServerOptions {
  return Object.freeze({
    onClientHello: config.onClientHello,
    selectCertificate: config.selectCertificate,
    selectAlpn: config.selectAlpn,
    helloRetryCookie: config.helloRetryCookie,
    cipherSuitePreference: config.cipherSuitePreference,
    encryptedExtensions: config.encryptedExtensions,
  });
}

/** Whether `auth` judges X.509 client chains (and not only raw keys). */
function acceptsX509(auth: NonNullable<ServerConfig["clientAuth"]>): boolean {
  return !!(auth.trustAnchors || auth.verifyPeer || auth.retryVerify);
}

/** RFC 7250: what the server can present (a raw key first) and what it takes from clients it asks. */
function serverCertificateTypes(
  certs: readonly unknown[],
  rawKey: unknown,
  auth: ServerConfig["clientAuth"],
): ServerCertificateTypes {
  const { x509, rawPublicKey } = CertificateType;
  return {
    server: [...(rawKey ? [rawPublicKey] : []), ...(certs.length > 0 ? [x509] : [])],
    client: auth ? [...(auth.rawPublicKeys ? [rawPublicKey] : []), ...(acceptsX509(auth) ? [x509] : [])] : [],
  };
}

/** Refuses every X.509 chain: the policy of a server that takes only raw keys from clients. */
const noChain = () => false;

/** How client certificates are asked for and judged, from `clientAuth`. */
function clientAuthSetup(auth: ServerConfig["clientAuth"]): ServerSetup["clientAuth"] {
  if (!auth) return undefined;
  if (!acceptsX509(auth) && !auth.rawPublicKeys) {
    throw new TypeError(
      "Cannot configure clientAuth: pass trustAnchors, verifyPeer, retryVerify or rawPublicKeys",
    );
  }
  const anchors = decodeAnchors(auth.trustAnchors, "clientAuth.trustAnchors");
  const rawKeys = auth.rawPublicKeys && normalizeRawKeyTrust(auth.rawPublicKeys, "clientAuth.rawPublicKeys");
  return {
    policy: {
      trustAnchors: anchors,
      // Raw keys only: a chain (TLS 1.2, or a client that ignored our choice) is never accepted unchecked.
      verifyPeer: acceptsX509(auth) ? auth.verifyPeer : noChain,
      retryVerify: auth.retryVerify === true,
      insecure: false,
      purpose: "client",
      peerName: undefined,
      ...(rawKeys ? { rawKeys } : {}),
    },
    required: auth.required === true,
    authorities: anchors && auth.sendCertificateAuthorities !== false ? anchors.map(subjectName) : [],
  };
}

/**
 * One connection's settings after its `onClientHello` chose `overrides`. Sessions still go to the same
 * stores, bound to this connection's client authentication and `sessionContext` (docs/security.md).
 */
function reconfigured(
  base: ServerSetup,
  baseConfig: ServerConfig,
  overrides: ServerOverrides,
): { setup: ServerSetup; cfg: Normalized } {
  const config: ServerConfig = { ...baseConfig, ...overrides };
  const cfg = serverPskSetup(config, normalizeCommon(config), (config.certificates?.length ?? 0) > 0).cfg;
  const clientAuth = "clientAuth" in overrides ? clientAuthSetup(config.clientAuth) : base.clientAuth;
  const tickets = base.tickets && { ...base.tickets, context: sessionContextOf(config, clientAuth) };
  const certs = overrides.certificates ? normalizeCertificates(overrides.certificates) : base.certs;
  const setup: ServerSetup = {
    ...base,
    options: serverOptions(config),
    certs,
    certificateTypes: serverCertificateTypes(certs, base.rawKey, config.clientAuth),
    clientAuth,
    tickets,
    reconfigure: (more) => reconfigured(setup, config, more),
  };
  return { setup, cfg };
}
