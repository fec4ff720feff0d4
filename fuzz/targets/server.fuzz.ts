// Copyright 2026 the airlock authors. MIT license.
// Jazzer.js target (bundled by fuzz/build.mjs): the whole engine as a server, see fuzz/engine_target.ts.
import { fuzzEngine, prepare } from "../engine_target.ts";

await prepare();

/** One fuzz input. */
export async function fuzz(data: Uint8Array): Promise<void> {
  await fuzzEngine("server", data);
}
