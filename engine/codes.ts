/**
 * OpenSSL's return and error values, as SSL_do_handshake(3) and SSL_get_error(3) define them.
 *
 * `doHandshake()`, `read()`, `write()` and `shutdown()` return a number; `getError(ret)` says why.
 * @module
 */

/** The reason an engine call did not complete, as `SSL_get_error` gives it. */
export const SslError = {
  /** The call succeeded. */
  NONE: 0,
  /** A protocol failure; `engine.error` holds the typed error and its alert. */
  SSL: 1,
  /** The engine needs more bytes from the peer: pump the network half of the BIO pair, then call again. */
  WANT_READ: 2,
  /** The outgoing BIO is full: drain the network half, then call again. */
  WANT_WRITE: 3,
  /**
   * A certificate callback is choosing a chain and key (`selectCertificate` on a server, a `clientCertificate`
   * function on a client, returning a promise): await `engine.asyncWait()`, then call again.
   */
  WANT_X509_LOOKUP: 4,
  /**
   * OpenSSL's SSL_ERROR_SYSCALL. A BIO pair has no I/O errors, so airlock gives it only where OpenSSL's
   * `SSL_get_error` does without one: for the 0 of `shutdown()` once our close_notify is sent, and of a
   * 0-byte `read()` or `write()`.
   */
  SYSCALL: 5,
  /** The peer sent close_notify: no more data will come. */
  ZERO_RETURN: 6,
  /** A crypto, verification or session store promise is pending: await `engine.asyncWait()`, then call again. */
  WANT_ASYNC: 9,
  /** The server's `onClientHello` callback is deciding (it returned a promise): await `engine.asyncWait()`. */
  WANT_CLIENT_HELLO_CB: 11,
  /** The caller must decide on the peer's certificate chain (see `setVerifyResult`), then call again. */
  WANT_RETRY_VERIFY: 12,
} as const;

/** One of the {@link SslError} values. */
export type SslErrorCode = (typeof SslError)[keyof typeof SslError];

/** The name of an {@link SslErrorCode}, e.g. `"WANT_READ"`. */
export function sslErrorName(code: number): string {
  for (const [name, value] of Object.entries(SslError)) if (value === code) return name;
  return `UNKNOWN(${code})`;
}
