/**
 * The `message` event's details (events.ts `MessageInfo`): for a whole handshake message, and the two
 * ChangeCipherSpec ones, which context.ts (sent) and record/inbound.ts (received) dispatch.
 * @module
 */

import type { MessageInfo } from "./events.ts";
import { compressionAlgorithmName, handshakeName, HandshakeType } from "./msgs/enums.ts";
import { HRR_RANDOM } from "./msgs/handshake.ts";

/** "clientHello" → "ClientHello" (an unknown type's hex name stays as it is). */
function displayName(name: string): string {
  return name.startsWith("0x") ? name : name.charAt(0).toUpperCase() + name.slice(1);
}

/** The detail for a whole handshake message (`raw`: header included). */
export function messageInfo(direction: "sent" | "received", raw: Uint8Array): MessageInfo {
  const type = raw[0]!;
  const hrr = type === HandshakeType.serverHello && raw.length >= 4 + 2 + 32 &&
    HRR_RANDOM.every((b, i) => raw[6 + i] === b);
  const info: MessageInfo = {
    direction,
    contentType: "handshake",
    type,
    name: hrr ? "HelloRetryRequest" : displayName(handshakeName(type)),
    length: raw.length - 4,
  };
  if (type !== HandshakeType.compressedCertificate || raw.length < 6) return info;
  return { ...info, compression: compressionAlgorithmName((raw[4]! << 8) | raw[5]!) };
}

function changeCipherSpec(direction: "sent" | "received"): MessageInfo {
  return Object.freeze({
    direction,
    contentType: "change_cipher_spec",
    type: 1,
    name: "ChangeCipherSpec",
    length: 1,
  });
}

/** The detail for a ChangeCipherSpec, by direction. */
export const CHANGE_CIPHER_SPEC: Readonly<Record<"sent" | "received", MessageInfo>> = Object.freeze({
  sent: changeCipherSpec("sent"),
  received: changeCipherSpec("received"),
});
