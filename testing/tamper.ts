/**
 * Tampering helpers (rustls' `transfer_altered`): filters for {@link transfer} that split the bytes in flight
 * into TLS records and let a test rewrite one record, one plaintext handshake message, or, with the sender's
 * traffic secrets (taken from its `secrets` events), the content of a protected record.
 *
 * Each filter handles one direction and buffers a partial record until the rest arrives, so it works with any
 * chunking. Filters are stateful: make a fresh one per pair.
 * @module
 */

import { on, type TlsEngine } from "../mod.ts";
import { trafficKeys } from "../engine/key_schedule.ts";
import { ContentType } from "../engine/msgs/enums.ts";
import { frame } from "../engine/msgs/handshake.ts";
import { encodeRecord, HEADER_LEN, Protection } from "../engine/record/layer.ts";
import { TLS13_SUITES } from "../suites/tls13.ts";
import type { Filter } from "./pair.ts";
import { concat } from "../suites/bytes.ts";

/** One record as framed on the wire. */
export interface WireRecord {
  readonly type: number;
  readonly version: number;
  readonly body: Uint8Array;
}

/** One handshake message: its type and body (without the 4-byte header). */
export interface Message {
  readonly type: number;
  readonly body: Uint8Array;
}

/** What a record rewriter returns: the records to send instead (none drops it). */
export type Rewrite<T> = T | readonly T[] | undefined;

/** The bytes of a record. */
export function record(type: number, body: Uint8Array, version = 0x0303): Uint8Array {
  return encodeRecord(type, version, body);
}

/** Concatenate byte arrays (suites/bytes.ts `concat`, under the short name the tamper tests use). */
export const cat: (...parts: Uint8Array[]) => Uint8Array = concat;

/** Split the content of a handshake record into messages (each must be whole). */
export function splitMessages(content: Uint8Array): Message[] {
  const out: Message[] = [];
  let at = 0;
  while (at < content.length) {
    if (content.length - at < 4) throw new Error("splitMessages: a partial message header");
    const len = (content[at + 1]! << 16) | (content[at + 2]! << 8) | content[at + 3]!;
    if (at + 4 + len > content.length) {
      throw new Error("splitMessages: a message continues in another record");
    }
    out.push({ type: content[at]!, body: content.slice(at + 4, at + 4 + len) });
    at += 4 + len;
  }
  return out;
}

/** Frame messages back into handshake record content. */
export function joinMessages(msgs: readonly Message[]): Uint8Array {
  return cat(...msgs.map((m) => frame(m.type, m.body)));
}

function list<T>(r: Rewrite<T>): readonly T[] {
  return r === undefined ? [] : Array.isArray(r) ? r : [r as T];
}

/** A filter on the records `from` sends; `fn` gets each whole record and its index in that direction. */
export function onRecords(
  from: "client" | "server",
  fn: (rec: WireRecord, index: number) => Rewrite<WireRecord>,
): Filter {
  let held = new Uint8Array(0);
  let index = 0;
  return (bytes, who) => {
    if (who !== from) return bytes;
    const buf = cat(held, bytes);
    const out: Uint8Array[] = [];
    let at = 0;
    while (buf.length - at >= HEADER_LEN) {
      const len = (buf[at + 3]! << 8) | buf[at + 4]!;
      if (buf.length - at < HEADER_LEN + len) break;
      const rec = {
        type: buf[at]!,
        version: (buf[at + 1]! << 8) | buf[at + 2]!,
        body: buf.slice(at + HEADER_LEN, at + HEADER_LEN + len),
      };
      for (const r of list(fn(rec, index++))) out.push(record(r.type, r.body, r.version));
      at += HEADER_LEN + len;
    }
    held = buf.slice(at);
    return cat(...out);
  };
}

/**
 * A filter on the plaintext handshake messages `from` sends (ClientHello, ServerHello, HelloRetryRequest):
 * `fn` gets each message and returns the messages to send in its place.
 */
export function onPlainMessages(
  from: "client" | "server",
  fn: (m: Message) => Rewrite<Message>,
): Filter {
  return onRecords(from, (rec) => {
    if (rec.type !== ContentType.handshake) return rec;
    let split: Message[];
    try {
      split = splitMessages(rec.body);
    } catch {
      return rec; // a TLS 1.2 protected handshake record (Finished after ChangeCipherSpec): not plaintext
    }
    const msgs = split.flatMap((m) => list(fn(m)));
    return { ...rec, body: joinMessages(msgs) };
  });
}

/** Rewrite the body of every plaintext message of `type` that `from` sends. */
export function editPlain(
  from: "client" | "server",
  type: number,
  fn: (body: Uint8Array) => Uint8Array,
): Filter {
  return onPlainMessages(from, (m) => (m.type === type ? { type, body: fn(m.body) } : m));
}

/** A record's content after removing protection: the real content type and the content. */
export interface InnerRecord {
  readonly type: number;
  readonly content: Uint8Array;
  /** Zero padding to add when sealing it again (default none). */
  readonly padding?: number;
}

interface Keys {
  readonly open: Protection;
  readonly seal: Protection;
}

/**
 * A filter on the protected records `sender` sends. It must be made before the handshake starts: it follows
 * the sender's write secrets (its `secrets` events) and decrypts each application_data record by trying the
 * current key, then the ones installed after it. `fn` gets each inner record with its index in that
 * direction and returns the inner records to seal in its place, under the same key; plaintext records pass
 * through unchanged.
 */
export function onProtected(
  sender: TlsEngine,
  fn: (inner: InnerRecord, index: number) => Rewrite<InnerRecord>,
): Filter {
  const keys: Keys[] = [];
  on(sender, "secrets", (s) => {
    if (s.direction !== "write") return;
    const suite = TLS13_SUITES.find((x) => x.name === s.cipherSuite)!;
    const make = () => {
      const { key, iv } = trafficKeys(suite.hash, s.secret, suite.aead.keyLen);
      return new Protection(suite.aead.importKey(key), iv);
    };
    keys.push({ open: make(), seal: make() });
  });
  let current = 0;
  let index = 0;
  return onRecords(sender.role, (rec) => {
    if (rec.type !== ContentType.applicationData || keys.length === 0) return rec;
    for (let k = current; k < keys.length; k++) {
      let inner: { type: number; content: Uint8Array };
      try {
        const header = record(rec.type, rec.body, rec.version).subarray(0, HEADER_LEN);
        inner = keys[k]!.open.open({ ...rec, header });
      } catch {
        continue;
      }
      current = k;
      const out = list(fn(inner, index++));
      return out.map((r) => {
        const sealed = keys[k]!.seal.seal(r.type, r.content, r.padding ?? 0);
        return { type: sealed[0]!, version: 0x0303, body: sealed.subarray(HEADER_LEN) };
      });
    }
    throw new Error("onProtected: no key opens this record");
  });
}

/**
 * A filter on the handshake messages inside the protected records `sender` sends (EncryptedExtensions …
 * Finished, KeyUpdate): `fn` gets each message and returns the messages to send in its place.
 */
export function onProtectedMessages(sender: TlsEngine, fn: (m: Message) => Rewrite<Message>): Filter {
  return onProtected(sender, (inner) => {
    if (inner.type !== ContentType.handshake) return inner;
    return { ...inner, content: joinMessages(splitMessages(inner.content).flatMap((m) => list(fn(m)))) };
  });
}

/** Chain filters: the bytes go through each in turn. */
export function chain(...filters: readonly Filter[]): Filter {
  return (bytes, from) => filters.reduce((b, f) => f(b, from), bytes);
}
