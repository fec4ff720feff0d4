/**
 * External PSK flags (RFC 8446 §2.2) that `airlock client` and `airlock server` share, in OpenSSL's spelling:
 * `--psk HEX` (the key), `--psk-identity ID` (default "Client_identity", as s_client and s_server), `--psk-hash`
 * and `--psk-mode`. What they give is checked by createClient / createServer (lengths, versions).
 * @module
 */

import type { ExternalPsk, HandshakeInfo, PskMode } from "../mod.ts";
import { type FlagSpec, type Parsed, UsageError } from "./_args.ts";

/** OpenSSL's default identity for `-psk` (s_client and s_server). */
const DEFAULT_IDENTITY = "Client_identity";

/** The flags. */
export const PSK_FLAGS: Record<string, FlagSpec> = {
  psk: { kind: "string", help: "external PSK, in hex (TLS 1.3; no certificate needed on either side)" },
  "psk-identity": { kind: "string", help: `the PSK's identity (default "${DEFAULT_IDENTITY}")` },
  "psk-hash": { kind: "string", help: "the PSK's hash: SHA-256 (default) or SHA-384" },
  "psk-mode": {
    kind: "string",
    help: "PSK key exchange: dhe_ke (default, forward secret), ke (PSK alone), or both",
  },
};

const MODES: Record<string, readonly PskMode[]> = {
  dhe_ke: ["psk_dhe_ke"],
  ke: ["psk_ke"],
  both: ["psk_dhe_ke", "psk_ke"],
};

/** The PSK options the flags give (empty without --psk; the other flags then are usage errors). */
export function pskOptions(f: Parsed): { psks?: ExternalPsk[]; pskModes?: readonly PskMode[] } {
  const hex = f.strings.get("psk");
  if (hex === undefined) {
    const stray = ["psk-identity", "psk-hash", "psk-mode"].find((n) => f.strings.has(n));
    if (stray) throw new UsageError(`--${stray} needs --psk`);
    return {};
  }
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError("--psk expects an even number of hex digits");
  const key = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
  const hash = f.strings.get("psk-hash") ?? "SHA-256";
  if (hash !== "SHA-256" && hash !== "SHA-384") throw new UsageError("--psk-hash expects SHA-256 or SHA-384");
  const mode = f.strings.get("psk-mode") ?? "dhe_ke";
  const pskModes = MODES[mode];
  if (!pskModes) throw new UsageError("--psk-mode expects dhe_ke, ke or both");
  const identity = f.strings.get("psk-identity") ?? DEFAULT_IDENTITY;
  return { psks: [{ identity, key, hash }], pskModes };
}

/** One line about the external PSK a handshake used, or undefined. */
export function describePsk(info: HandshakeInfo): string | undefined {
  const p = info.externalPsk;
  if (!p) return undefined;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(p.identity);
  return `identity "${text.replace(/[^\x20-\x7e]/g, "?")}" (${p.mode})`;
}
