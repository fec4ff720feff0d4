// Copyright 2026 the airlock authors. MIT license.

/**
 * Loaded before the tests (`deno test --preload`, and first by entry.ts on Node and Bun): every
 * configuration that names no provider runs on `nobleProvider` (`AIRLOCK_PROVIDER=noble`, or unset), on
 * `webCryptoProvider` (`webcrypto`) or on `nodeCryptoProvider` (`node`), so the same suite checks every
 * provider; without this preload the default is the runtime's fastest (suites/default_provider.ts). Tests about
 * byte-for-byte reproducibility name `nobleProvider` themselves. Any other value than "noble", "webcrypto"
 * or "node" is an error, not a silent default.
 *
 * @module
 */

import process from "node:process";
import { nodeCryptoProvider } from "../../suites/node_crypto.ts";
import { nobleProvider, webCryptoProvider } from "../../suites/provider.ts";
import { installDefaultProvider } from "../../suites/default_provider.ts";

const chosen = process.env.AIRLOCK_PROVIDER ?? "noble";
if (chosen === "noble") installDefaultProvider(nobleProvider);
else if (chosen === "webcrypto") installDefaultProvider(webCryptoProvider);
else if (chosen === "node") installDefaultProvider(nodeCryptoProvider);
else {
  throw new Error(`AIRLOCK_PROVIDER must be "noble", "webcrypto" or "node", not "${chosen}"`);
}
