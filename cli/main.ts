/**
 * The airlock command line's dispatcher: `airlock client`, `airlock server`, `airlock verify`, `airlock
 * ech-keygen`, with flags
 * named after openssl's. The entry point is cli/airlock.ts.
 *
 * Exit codes: 0 success (a clean close, a valid certificate), 1 a connection or handshake failure,
 * 2 a usage error or an invalid certificate.
 * @module
 */

import process from "node:process";
import { flagHelp, UsageError } from "./_args.ts";
import { CLIENT_FLAGS, runClient } from "./client.ts";
import { runServer, SERVER_FLAGS } from "./server.ts";
import { runVerify, VERIFY_FLAGS } from "./verify.ts";
import { KEYGEN_FLAGS, runEchKeygen } from "./_ech.ts";

/** The version `airlock --version` prints: package.json's and deno.json's (cli_test.ts checks all three agree). */
export const VERSION = "0.1.0";

const USAGE = `usage:
  airlock --version
  airlock client --connect HOST:PORT [--servername N] [--cafile PEM (default: the system's) | --insecure] [options]
  airlock server --accept PORT --cert PEM --key PEM ... (--echo | --www) [options]
  airlock ech-keygen --public-name NAME [--config-id N] [--out FILE]
  airlock verify --cafile PEM [--untrusted PEM] [--servername N] [--purpose server|client] [--attime UNIX] CERT.pem
Every flag of a command, with what it does: airlock COMMAND --help
`;

const COMMANDS = {
  client: { run: runClient, flags: CLIENT_FLAGS },
  server: { run: runServer, flags: SERVER_FLAGS },
  verify: { run: runVerify, flags: VERIFY_FLAGS },
  "ech-keygen": { run: runEchKeygen, flags: KEYGEN_FLAGS },
} as const;

/** Run the CLI with `argv` (without the program name); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`airlock ${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (!command) {
    process.stderr.write(`airlock: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help")) {
    process.stdout.write(`airlock ${name}\n${flagHelp(command.flags)}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`airlock ${name}: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`airlock ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
