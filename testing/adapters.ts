// Copyright 2026 the airlock authors. MIT license.

/**
 * Test helpers for the adapters (private): a client and a server engine with a pinned test certificate,
 * an in-memory byte stream pair with small buffers, an in-memory message link that splits and merges
 * messages as a seeded PRNG decides, seeded data, and SHA-256 over a stream.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import {
  type Bio,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  type ServerConfig,
  type TlsEngine,
} from "../mod.ts";
import { generateTestCertificate } from "./pki.ts";
import { concat } from "../suites/bytes.ts";
import type { ByteStreamTransport } from "../adapters/stream.ts";
import type { MessageTransport } from "../adapters/message.ts";

/** An engine and the network half of its BIO pair. */
export interface Side {
  readonly engine: TlsEngine;
  readonly network: Bio;
}

/** Options for {@link makeEndpoints}. */
export interface EndpointOptions {
  readonly client?: Partial<ClientConfig>;
  readonly server?: Partial<ServerConfig>;
  /** Pin the certificate in an async `verifyPeer` (default true). */
  readonly pin?: boolean;
}

/** A `tamper` for a pipe: the chunk with its last byte flipped, which breaks the tag of the record it ends. */
export function breakLastByte(chunk: Uint8Array): Uint8Array {
  const copy = chunk.slice();
  copy[copy.length - 1]! ^= 1;
  return copy;
}

/** Constant-time-enough equality for tests. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * A client and a server engine. The client pins the server's fresh certificate through an async
 * `verifyPeer` (so every handshake goes through WANT_ASYNC once).
 */
export async function makeEndpoints(opts: EndpointOptions = {}): Promise<{ client: Side; server: Side }> {
  const cert = await generateTestCertificate("ecdsa-p256");
  const key = await loadPrivateKey(cert.keyPkcs8);
  const pinned = cert.chain[0]!;
  const c = createBioPair();
  const s = createBioPair();
  const pin: Partial<ClientConfig> = opts.pin === false ? {} : {
    verifyPeer: ({ chain }) => Promise.resolve(chain[0] !== undefined && equalBytes(chain[0], pinned)),
  };
  const client = createClient({ serverName: "localhost", ...pin, ...opts.client }, c.engine);
  const server = createServer({ certificates: [{ chain: cert.chain, key }], ...opts.server }, s.engine);
  return { client: { engine: client, network: c.network }, server: { engine: server, network: s.network } };
}

/** One direction of an in-memory pipe, with counters and controls. */
export interface Tap {
  /** Bytes that went through. */
  bytes: number;
  /** The writer closed its end (a FIN). */
  writerClosed: boolean;
  /** The writer aborted its end. */
  writerAborted: boolean;
  /** The reader cancelled its end. */
  readerCancelled: boolean;
  /** Rewrite chunks in flight. */
  tamper: ((chunk: Uint8Array) => Uint8Array) | undefined;
  /** End the readable side (EOF) and error the writable side, as a dropped connection. */
  cut(): void;
}

/** Two byte stream transports connected in memory. */
export interface MemoryPair {
  readonly client: ByteStreamTransport;
  readonly server: ByteStreamTransport;
  readonly c2s: Tap;
  readonly s2c: Tap;
}

function tap(
  highWaterMark: number,
): { tap: Tap; readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  let ctl: TransformStreamDefaultController<Uint8Array> | undefined;
  const t: Tap = {
    bytes: 0,
    writerClosed: false,
    writerAborted: false,
    readerCancelled: false,
    tamper: undefined,
    cut: () => ctl!.terminate(),
  };
  const inner = new TransformStream<Uint8Array, Uint8Array>(
    {
      start: (c) => {
        ctl = c;
      },
      transform: (chunk, c) => {
        t.bytes += chunk.length;
        c.enqueue(t.tamper ? t.tamper(chunk) : chunk);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark }),
    new ByteLengthQueuingStrategy({ highWaterMark }),
  );
  // Thin wrappers that record how each end was closed.
  const writer = inner.writable.getWriter();
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    close: () => {
      t.writerClosed = true;
      return writer.close();
    },
    abort: (reason) => {
      t.writerAborted = true;
      return writer.abort(reason);
    },
  });
  const reader = inner.readable.getReader();
  const readable = new ReadableStream<Uint8Array>({
    pull: async (c) => {
      const r = await reader.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    cancel: (reason) => {
      t.readerCancelled = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { tap: t, readable, writable };
}

/** A duplex pair over TransformStreams; each direction buffers about `3 * highWaterMark` bytes at most. */
export function memoryPair(highWaterMark = 4096): MemoryPair {
  const c2s = tap(highWaterMark);
  const s2c = tap(highWaterMark);
  return {
    client: { readable: s2c.readable, writable: c2s.writable },
    server: { readable: c2s.readable, writable: s2c.writable },
    c2s: c2s.tap,
    s2c: s2c.tap,
  };
}

/** A seeded xorshift32 generator of unsigned 32-bit integers. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** `n` bytes from a seeded generator. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const next = prng(seed);
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next();
  for (let i = words.length * 4; i < n; i++) out[i] = next() & 0xff;
  return out;
}

/** SHA-256 of `data`. */
export function digest(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** Write `data` in chunks of 1..maxChunk bytes (seeded), then close the writable if `close`. */
export async function writeAll(
  writable: WritableStream<Uint8Array>,
  data: Uint8Array,
  opts: { seed?: number; maxChunk?: number; close?: boolean } = {},
): Promise<void> {
  const next = prng(opts.seed ?? 7);
  const maxChunk = opts.maxChunk ?? 100_000;
  const writer = writable.getWriter();
  for (let off = 0; off < data.length;) {
    const n = Math.min(data.length - off, 1 + (next() % maxChunk));
    await writer.write(data.subarray(off, off + n));
    off += n;
  }
  if (opts.close !== false) await writer.close();
  writer.releaseLock();
}

/** Read a stream to its end (at most `limit` bytes); returns the byte count and the SHA-256. */
export async function readAll(
  readable: ReadableStream<Uint8Array>,
  limit = 64 << 20,
): Promise<{ length: number; digest: Uint8Array; text: string }> {
  const h = sha256.create();
  const reader = readable.getReader();
  let length = 0;
  const head: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) throw new Error(`readAll: more than ${limit} bytes`);
    if (length <= 4096) head.push(value);
    h.update(value);
  }
  reader.releaseLock();
  const text = length <= 4096 ? new TextDecoder().decode(concat(...head)) : "";
  return { length, digest: h.digest(), text };
}

/** `p`, or a rejection after `ms` milliseconds; the timer is cleared either way. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(id));
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a settled promise gave, without throwing. */
export async function settle<T>(
  p: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A promise's state after the pending jobs have run: "pending", "fulfilled" or "rejected". */
export async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  let s: "pending" | "fulfilled" | "rejected" = "pending";
  p.then(() => (s = "fulfilled"), () => (s = "rejected"));
  await sleep(0);
  return s;
}

// ---- an in-memory message link -----------------------------------------------------------------------

/** One direction of a {@link messagePair}. */
export interface Link {
  /** Sizes of the messages handed to `send`. */
  readonly sent: number[];
  /** Sizes of the messages delivered. */
  readonly delivered: number[];
  /** Delivered messages that joined bytes of two or more sent ones. */
  readonly merged: number;
  /** Sent messages whose bytes went out in two or more delivered ones. */
  readonly split: number;
  /** Stop delivering (the bytes queue up and count in `bufferedAmount`). */
  paused: boolean;
  /** Deliver again after `paused`. */
  resume(): void;
  /** Close the receiving end with `error`, at once. */
  fail(error: unknown): void;
}

/** Options for {@link messagePair}. */
export interface MessagePairOptions {
  /** Seed of the PRNG that decides message boundaries. */
  readonly seed?: number;
  /** Largest delivered message (default 3000). */
  readonly maxDelivered?: number;
  /** The transports' `maxMessageSize` (sends above it throw). */
  readonly maxMessageSize?: number;
}

class LinkImpl implements Link {
  readonly sent: number[] = [];
  readonly delivered: number[] = [];
  merged = 0;
  split = 0;
  paused = false;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #scheduled = false;
  #closing = false;
  #done = false;
  readonly #next: () => number;
  readonly #max: number;
  onMessage: ((bytes: Uint8Array) => void) | undefined;
  onClose: ((error?: unknown) => void) | undefined;

  constructor(next: () => number, max: number) {
    this.#next = next;
    this.#max = max;
  }

  get queued(): number {
    return this.#queued;
  }

  get done(): boolean {
    return this.#done || this.#closing;
  }

  push(bytes: Uint8Array): void {
    if (this.done) throw new Error("Cannot send: the link is closed");
    this.sent.push(bytes.length);
    if (bytes.length === 0) return;
    this.#queue.push(bytes.slice());
    this.#queued += bytes.length;
    this.#schedule();
  }

  close(): void {
    if (this.done) return;
    this.#closing = true;
    this.#schedule();
  }

  /** The receiver went away: drop everything. */
  drop(): void {
    this.#done = true;
    this.#queue = [];
    this.#queued = 0;
  }

  resume(): void {
    this.paused = false;
    this.#schedule();
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.drop();
    this.onClose?.(error);
  }

  #schedule(): void {
    if (this.#scheduled || this.#done) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#deliver();
    }, 0);
  }

  #deliver(): void {
    if (this.paused || this.#done) return;
    // A few messages per turn, each 1..max bytes cut from the queue regardless of how it was sent.
    for (let k = 1 + (this.#next() % 4); k > 0 && this.#queued > 0; k--) {
      const n = Math.min(this.#queued, 1 + (this.#next() % this.#max));
      const msg = new Uint8Array(n);
      let parts = 0;
      for (let at = 0; at < n; parts++) {
        const head = this.#queue[0]!;
        const take = Math.min(head.length, n - at);
        msg.set(head.subarray(0, take), at);
        at += take;
        if (take === head.length) this.#queue.shift();
        else {
          this.#queue[0] = head.subarray(take);
          this.split++;
        }
      }
      if (parts > 1) this.merged++;
      this.#queued -= n;
      this.delivered.push(n);
      this.onMessage?.(msg);
      if (this.#done) return;
    }
    if (this.#queued > 0) this.#schedule();
    else if (this.#closing) {
      this.#done = true;
      this.onClose?.();
    }
  }
}

/** Two message transports connected in memory, delivering in messages of seeded random sizes. */
export function messagePair(opts: MessagePairOptions = {}): {
  client: MessageTransport;
  server: MessageTransport;
  c2s: Link;
  s2c: Link;
} {
  const next = prng(opts.seed ?? 1);
  const max = opts.maxDelivered ?? 3000;
  const c2s = new LinkImpl(next, max);
  const s2c = new LinkImpl(next, max);
  const end = (out: LinkImpl, incoming: LinkImpl): MessageTransport => ({
    send: (bytes) => {
      if (opts.maxMessageSize !== undefined && bytes.length > opts.maxMessageSize) {
        throw new RangeError(`Cannot send ${bytes.length} bytes: maxMessageSize is ${opts.maxMessageSize}`);
      }
      out.push(bytes);
    },
    onMessage: (fn) => {
      incoming.onMessage = fn;
    },
    onClose: (fn) => {
      incoming.onClose = fn;
    },
    close: () => {
      out.close(); // The peer gets what was sent, then its close.
      incoming.drop(); // We receive nothing more.
    },
    bufferedAmount: () => out.queued,
    maxMessageSize: opts.maxMessageSize,
  });
  return { client: end(c2s, s2c), server: end(s2c, c2s), c2s, s2c };
}

// ---- a minimal WebSocket server (RFC 6455) over node:net, for the real-WebSocket test ----------------

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function wsFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head);
  return out;
}

/**
 * A WebSocket server on 127.0.0.1 (port 0) that hands each connection to `onConnection` as a
 * {@link MessageTransport}: just enough of RFC 6455 for binary messages, ping and the closing handshake.
 */
export async function webSocketServer(
  onConnection: (transport: MessageTransport) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const net = await import("node:net");
  const { createHash } = await import("node:crypto");
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buf = new Uint8Array(0);
    let upgraded = false;
    let closeSent = false;
    let ended = false;
    let onMessage: ((bytes: Uint8Array) => void) | undefined;
    let onClose: ((error?: unknown) => void) | undefined;
    const end = (error?: unknown) => {
      if (ended) return;
      ended = true;
      onClose?.(error);
    };
    const sendClose = (payload: Uint8Array) => {
      if (closeSent) return;
      closeSent = true;
      socket.end(wsFrame(8, payload));
    };
    const transport: MessageTransport = {
      send: (bytes) => {
        if (closeSent) throw new Error("Cannot send: the WebSocket is closing");
        socket.write(wsFrame(2, bytes));
      },
      onMessage: (fn) => {
        onMessage = fn;
      },
      onClose: (fn) => {
        onClose = fn;
      },
      close: () => sendClose(Uint8Array.of(0x03, 0xe8)),
      bufferedAmount: () => socket.writableLength,
    };
    socket.on("data", (chunk: Uint8Array) => {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
      if (!upgraded) {
        const text = new TextDecoder().decode(buf);
        const at = text.indexOf("\r\n\r\n");
        if (at < 0) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(text.slice(0, at))?.[1] ?? "";
        const accept = createHash("sha1").update(key + WS_GUID).digest("base64");
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        buf = buf.subarray(new TextEncoder().encode(text.slice(0, at + 4)).length);
        upgraded = true;
        onConnection(transport);
      }
      for (let frames = 0; buf.length >= 2 && frames < 100_000; frames++) {
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = (buf[2]! << 8) | buf[3]!;
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
          off = 10;
        }
        const masked = (buf[1]! & 0x80) !== 0;
        const maskAt = off;
        if (masked) off += 4;
        if (buf.length < off + len) return;
        const payload = buf.slice(off, off + len);
        if (masked) { for (let i = 0; i < len; i++) payload[i]! ^= buf[maskAt + (i & 3)]!; }
        buf = buf.subarray(off + len);
        if (opcode === 0 || opcode === 2) {
          if (!ended) onMessage?.(payload); // a continuation frame's bytes are just more bytes
        } else if (opcode === 1) {
          end(new TypeError("Cannot accept a text message"));
          sendClose(Uint8Array.of(0x03, 0xeb));
        } else if (opcode === 8) {
          sendClose(payload.subarray(0, 2));
          end();
        } else if (opcode === 9) socket.write(wsFrame(10, payload));
      }
    });
    socket.on("close", () => {
      sockets.delete(socket);
      end(closeSent ? undefined : new Error("The WebSocket's TCP connection closed without a close frame"));
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as import("node:net").AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
