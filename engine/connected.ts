/**
 * After the handshake, both roles: post-handshake messages (RFC 8446 §4.6): NewSessionTicket (client),
 * KeyUpdate (both).
 * @module
 */

import { misbehaved } from "./errors.ts";
import { LIMITS } from "./limits.ts";
import { nextTrafficSecret } from "./key_schedule.ts";
import { HandshakeType as H } from "./msgs/enums.ts";
import { checkAllowed, decodeU32, findExtension } from "./msgs/extensions.ts";
import { ExtensionType as E } from "./msgs/enums.ts";
import { ticketPsk, TlsSession } from "./session.ts";
import type { ClientBinding } from "./binding.ts";
import {
  decodeKeyUpdate,
  decodeNewSessionTicket,
  encodeKeyUpdate,
  type HandshakeMessage,
} from "./msgs/handshake.ts";
import { type Context, expectMessage, type State, type Step } from "./state.ts";
import type { Tls13Suite } from "../suites/tls13.ts";

/** Traffic secrets after the handshake. */
export interface TrafficState {
  readonly suite: Tls13Suite;
  read: Uint8Array;
  write: Uint8Array;
  readonly resumption: Uint8Array;
}

/** After the handshake: post-handshake messages (RFC 8446 §4.6). Shared by both roles. */
export class Connected implements State {
  readonly name: string;
  readonly connected = true;
  /** KeyUpdates received in the current second of `now()`, and tickets received (LIMITS). */
  #keyUpdates = { second: NaN, count: 0 };
  #tickets = 0;
  constructor(
    readonly s: TrafficState,
    readonly role: "client" | "server",
    /** What a client's sessions are bound to. */
    readonly origin?: {
      readonly serverName: string | undefined;
      readonly alpn: string | undefined;
      readonly peerCertificates: readonly Uint8Array[];
      readonly binding: ClientBinding;
    },
  ) {
    this.name = `${role}.Connected`;
  }

  handle(cx: Context, m: HandshakeMessage): Step {
    if (m.type === H.keyUpdate && cx.quic) {
      // RFC 9001 §6: "Endpoints MUST treat the receipt of a TLS KeyUpdate message as a connection error".
      throw misbehaved("quic_key_update", "Cannot accept KeyUpdate over QUIC", this.name);
    }
    if (m.type === H.keyUpdate) {
      const request = decodeKeyUpdate(m.body);
      const second = Math.floor(cx.cfg.now() / 1000);
      if (second !== this.#keyUpdates.second) this.#keyUpdates = { second, count: 0 };
      if (++this.#keyUpdates.count > LIMITS.maxKeyUpdatesPerSecond) {
        throw misbehaved("too_many_key_updates", "Cannot accept more KeyUpdates this second", this.name);
      }
      this.s.read = nextTrafficSecret(this.s.suite.hash, this.s.read);
      cx.setReadSecret(this.s.suite, this.s.read, "application");
      if (request === 1) this.sendKeyUpdate(cx, false);
      return this;
    }
    if (m.type === H.newSessionTicket && this.role === "client") {
      const t = decodeNewSessionTicket(m.body);
      if (++this.#tickets > LIMITS.maxTicketsPerConnection) {
        throw misbehaved(
          "too_many_tickets",
          "Cannot accept more NewSessionTickets on this connection",
          this.name,
        );
      }
      checkAllowed("NewSessionTicket", H.newSessionTicket, t.extensions);
      const ed = findExtension(t.extensions, E.earlyData);
      const maxEarlyData = ed === undefined ? 0 : decodeU32(ed, "NewSessionTicket.early_data");
      cx.emit("ticket", { lifetime: t.lifetime, ticketLength: t.ticket.length });
      // A lifetime of 0 means "do not use" (RFC 8446 §4.6.1).
      if (t.lifetime > 0 && this.origin) {
        cx.emit(
          "session",
          new TlsSession({
            version: 0x0304,
            sessionId: new Uint8Array(0),
            extendedMasterSecret: true,
            serverName: this.origin.serverName,
            peerName: this.origin.binding.peerName,
            verifyContext: this.origin.binding.verifyContext,
            cipherSuite: this.s.suite.id,
            alpn: this.origin.alpn,
            ticket: t.ticket.slice(),
            psk: ticketPsk(this.s.suite.hash, this.s.resumption, t.nonce),
            ticketAgeAdd: t.ageAdd,
            lifetime: t.lifetime,
            receivedAt: cx.cfg.now(),
            maxEarlyData,
            peerCertificates: this.origin.peerCertificates,
          }),
        );
      }
      return this;
    }
    expectMessage(m, this.role === "client" ? [H.newSessionTicket, H.keyUpdate] : [H.keyUpdate], this.name);
    throw misbehaved("unexpected_message", "Unreachable", this.name);
  }

  /** Send KeyUpdate and move our write side to the next secret (RFC 8446 §4.6.3). */
  sendKeyUpdate(cx: Context, requestPeer: boolean): void {
    cx.sendHandshake(encodeKeyUpdate(requestPeer), false);
    this.s.write = nextTrafficSecret(this.s.suite.hash, this.s.write);
    cx.setWriteSecret(this.s.suite, this.s.write, "application");
  }
}
