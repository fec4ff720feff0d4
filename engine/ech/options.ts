// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * The Encrypted Client Hello settings callers pass (`ClientConfig.ech`, `ServerConfig.echKeys`): types only,
 * so that config.ts imports nothing of ECH's logic (client.ts and server.ts hold it).
 * @module
 */

/**
 * The client's ECH setting (`ClientConfig.ech`).
 *
 * @example Offer ECH with the list a server published
 * ```ts
 * import type { EchClientOptions } from "../../mod.ts";
 *
 * const configList = new Uint8Array(0); // the ECHConfigList bytes (from a DNS HTTPS record, or the operator)
 * const ech: EchClientOptions = { configList };
 * const noGrease: EchClientOptions = { grease: false }; // no ECH at all, not even GREASE
 * void ech, noGrease;
 * ```
 */
export interface EchClientOptions {
  /**
   * The server's ECHConfigList (the bytes of a DNS HTTPS record's `ech` parameter, or what the operator hands
   * out). The first configuration this client can use is taken; a list with none is refused by `createClient`
   * (TypeError), since the real server name would otherwise go out in the clear.
   */
  readonly configList?: Uint8Array;
  /**
   * Without `configList`: send a GREASE `encrypted_client_hello` (default true, as browsers do), so that
   * connections with and without ECH look alike. `false` sends none.
   */
  readonly grease?: boolean;
}

/**
 * One ECH key a server holds (`ServerConfig.echKeys`): a PEM key file's text (`airlock ech-keygen` writes
 * them), or the private key and its ECHConfig.
 *
 * @example Two keys during a rotation: the new one advertised, the old one still accepted
 * ```ts
 * import assert from "node:assert/strict";
 * import { type EchServerKey, encodeEchKeyPem, generateEchKey, nobleProvider } from "../../mod.ts";
 *
 * const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
 * const keyFile = (configId: number) =>
 *   encodeEchKeyPem(generateEchKey({ publicName: "public.example", configId }, nobleProvider, random));
 * const [newPem, oldPem] = [keyFile(2), keyFile(1)];
 * const echKeys: EchServerKey[] = [newPem, { pem: oldPem, retry: false }];
 * assert.equal(echKeys.length, 2);
 * ```
 */
export type EchServerKey =
  | string
  | {
    /** The key and configuration: a PEM key file's text, or `privateKey` and `config`. */
    readonly pem?: string;
    readonly privateKey?: Uint8Array;
    /** The ECHConfig (or an ECHConfigList holding it alone). */
    readonly config?: Uint8Array;
    /** Send this configuration in retry_configs to clients whose ECH could not be used (default true). */
    readonly retry?: boolean;
  };
