#!/usr/bin/env -S deno run -A
/**
 * The airlock command line. Run it as `deno run -A cli/airlock.ts …`, `bun cli/airlock.ts …`,
 * `node --import tsx cli/airlock.ts …`, or as the npm package's `airlock` bin (this file, bundled to
 * dist/airlock.mjs by scripts/build.mjs).
 *
 * @example Validate a certificate
 * ```sh
 * deno run -A cli/airlock.ts verify --cafile root.pem --untrusted intermediates.pem --servername example.com leaf.pem
 * ```
 * @module
 */

import process from "node:process";
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
