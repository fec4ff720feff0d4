// Copyright 2026 the airlock authors. MIT license.

/**
 * Loaded before the tests (`deno test --preload`, and first by entry.ts on Node and Bun): with
 * `AIRLOCK_PROVIDER=webcrypto` every configuration that names no provider runs on `webCryptoProvider`, and
 * with `AIRLOCK_PROVIDER=node` on `nodeCryptoProvider`, so the same suite checks every provider. Tests about
 * byte-for-byte reproducibility name `nobleProvider` themselves. Any other value than "noble", "webcrypto"
 * or "node" is an error, not a silent default.
 *
 * @module
 */

import process from "node:process";
import { nodeCryptoProvider } from "../../adapters/node_crypto.ts";
import { installDefaultProvider, webCryptoProvider } from "../../suites/provider.ts";

const chosen = process.env.AIRLOCK_PROVIDER ?? "noble";
if (chosen === "webcrypto") installDefaultProvider(webCryptoProvider);
else if (chosen === "node") installDefaultProvider(nodeCryptoProvider);
else if (chosen !== "noble") {
  throw new Error(`AIRLOCK_PROVIDER must be "noble", "webcrypto" or "node", not "${chosen}"`);
}
