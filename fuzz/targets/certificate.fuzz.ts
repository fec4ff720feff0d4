// Copyright 2026 the airlock authors. MIT license.
// Jazzer.js target (bundled by fuzz/build.mjs): see fuzz/decoders.ts.
import { fuzzCertificate } from "../decoders.ts";

/** One fuzz input. */
export function fuzz(data: Uint8Array): void {
  fuzzCertificate(data);
}
