// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * {@linkcode connectTls}: the one pump loop that drives an engine over a byte stream given as a web
 * `ReadableStream`/`WritableStream` pair, and hands the caller plaintext back as another such pair, a
 * {@linkcode TlsStream}.
 *
 * Every engine call goes through one function, `#drive(op)`: call the engine, hand what it sealed to the
 * transport, then act on `getError(ret)` (WANT_READ: read the transport; WANT_WRITE: wait until the
 * transport takes the bytes; WANT_ASYNC, WANT_CLIENT_HELLO_CB, WANT_X509_LOOKUP: `asyncWait()`;
 * WANT_RETRY_VERIFY: ask `onRetryVerify`; SSL or SYSCALL: fail both directions). The handshake, the plaintext readable's `pull`, the plaintext writable's
 * `write` and `close`, `keyUpdate()` and `close()` are all just operations passed to it, so there is no
 * second path into the state machine; the message adapter (`message.ts`) builds a stream pair and calls
 * this same function.
 *
 * Back-pressure holds both ways. The transport is read only while an operation waits for bytes (the
 * plaintext readable is pull-based with a high-water mark of 0, so nothing is read ahead of the consumer),
 * and a plaintext write resolves only once its records were handed to the transport writer with its `ready`
 * promise honoured, or, for a small chunk with more queued behind it, once it joined the record that the
 * chunks after it complete (below). The two directions never wait on each other: when a read finds the
 * engine's output queue full (the engine then answers WANT_WRITE), the pump moves that output to a bounded
 * staging list instead of waiting for the transport, so two peers that both write bulk data cannot deadlock.
 *
 * Small writes are joined, as node:tls joins the writes queued in its socket (a `writev`). The plaintext
 * writable's size function counts the chunks waiting in its queue. A chunk shorter than a record, with more
 * waiting behind it, is copied into a gather buffer of at most one record's payload (16 KiB) and its write
 * resolves at once, so the stream hands over the next; the buffer goes to the engine as one write (one
 * record) when it is full, or together with the chunk that leaves the queue empty, whose write then resolves
 * once that record was handed to the transport. A lone write never waits for company: it is sealed as soon
 * as it comes, exactly as before, and no timer is involved. Reads join too: one pull returns what the
 * records already received hold, up to 16 KiB, rather than one record.
 *
 * @module
 */

import type { Bio } from "../bio/bio.ts";
import { SslError, sslErrorName } from "../engine/codes.ts";
import type { TlsEngine } from "../engine/engine.ts";
import type { TlsError } from "../engine/errors.ts";
import type { HandshakeInfo } from "../engine/events.ts";
import { asBytes } from "./_bytes.ts";
import { directPorts, notByteStreams, type TransportPort } from "./_transport.ts";

/** A byte stream, as a web stream pair: `Deno.Conn`, a Bun socket, `node:net` through `nodeSocketStreams`. */
export interface ByteStreamTransport {
  /**
   * Bytes from the peer; the end of the stream is the transport's EOF. A byte stream (`type: "bytes"`, as
   * `Deno.Conn`'s) is read with BYOB reads of one TLS record's size, so an idle connection's pending read holds
   * 16 KiB rather than whatever the stream would allocate (64 KiB for `Deno.Conn`).
   */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it half-closes the transport (a TCP FIN). */
  readonly writable: WritableStream<Uint8Array>;
}

/** Options for {@linkcode connectTls}. */
export interface ConnectTlsOptions {
  /**
   * Aborting it tears the connection down at once, during the handshake or after it: both plaintext
   * streams error with the signal's reason and the transport is aborted (no close_notify).
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * The most milliseconds the handshake may take; past it, `connectTls` rejects with a `TimeoutError`
   * `DOMException` and the transport is aborted. No limit by default: servers should set one.
   */
  readonly handshakeTimeoutMs?: number | undefined;
  /**
   * Decides on the peer's certificate chain when the engine stops with WANT_RETRY_VERIFY (the engine's
   * `retryVerify` option): resolve `true` to accept, `false` to reject. Without it, such a handshake fails.
   */
  readonly onRetryVerify?: ((engine: TlsEngine) => boolean | Promise<boolean>) | undefined;
  /** Starts the handshake timer (default `globalThis.setTimeout`); injectable for tests. */
  readonly setTimer?: ((fn: () => void, ms: number) => unknown) | undefined;
  /** Stops the handshake timer (default `globalThis.clearTimeout`). */
  readonly clearTimer?: ((id: unknown) => void) | undefined;
}

/** A TLS connection as a plaintext web stream pair, with the handshake already done. */
export interface TlsStream {
  /**
   * Decrypted bytes from the peer. It ends at the peer's close_notify, and errors with a
   * `TlsError` (code `"truncated"`) if the transport ends without one. Reading it is what reads
   * the transport: a consumer that stops reading stops the transport. A chunk holds up to 16 KiB: what the
   * records received so far hold, several small records joined.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Bytes to encrypt and send; a write resolves once its records are handed to the transport, when the
   * transport writer's `ready` allows (over a transport that buffers nothing, such as a TransformStream
   * with its default strategies, that is when the peer reads). Small chunks queued together are joined
   * into records of up to 16 KiB: a chunk shorter than that, written while more chunks wait behind it in
   * the queue, resolves as soon as it is copied into the record being gathered, which is handed to the
   * transport before the write that fills it or ends the queue resolves; a failure to send it then shows
   * on the next write, on `close()` and on `closed`. A write with nothing queued behind it is sent at once.
   * Its queue holds 16 KiB before `ready` waits (a high-water mark in bytes). Closing it sends
   * close_notify after every byte written before (a TLS 1.3 half-close: the readable goes on, and the
   * transport stays open until both sides are done). Aborting it aborts the connection.
   */
  readonly writable: WritableStream<Uint8Array>;
  /** What the handshake negotiated. */
  readonly info: HandshakeInfo;
  /** The engine being driven (for its events, `peerCertificates`, `error`). */
  readonly engine: TlsEngine;
  /**
   * Settles when the connection is over: resolves once close_notify went both ways (or `close()` saw the
   * transport end) and the transport was closed; rejects with the error that ended it otherwise.
   */
  readonly closed: Promise<void>;
  /**
   * Close the connection: send close_notify (after the writes already accepted), then discard incoming
   * data until the peer's close_notify or the transport's end, then close the transport.
   *
   * @returns The {@linkcode TlsStream.closed} promise.
   */
  close(): Promise<void>;
  /**
   * Send a KeyUpdate (RFC 8446 §4.6.3) and hand it to the transport, after the bytes of the writes that have
   * resolved.
   *
   * @param requestPeer Ask the peer to update its sending key too.
   */
  keyUpdate(requestPeer?: boolean): Promise<void>;
}

/** Plaintext bytes returned by one read of {@linkcode TlsStream.readable} at most: one full record. */
const READ_CHUNK = 16384;
/**
 * Where every connection's engine reads land, shared: each read is copied out (or dropped) in the same
 * synchronous step that fills it, so no connection needs 16 KiB of its own while it waits.
 */
const SCRATCH = new Uint8Array(READ_CHUNK);
/**
 * The most plaintext one record carries (2^14, RFC 8446 §5.1): the size of the gather buffer, and the
 * plaintext writable's high-water mark in bytes. A smaller record_size_limit is the engine's business: it
 * splits one write into records that fit.
 */
const RECORD_PAYLOAD = 16384;
/** Output a read may take off the engine's hands while the transport is not ready for it. */
const MAX_STAGED = 256 * 1024;
/** Milliseconds the transport writer gets to take its last bytes when the connection ends. */
const LINGER_MS = 5000;
/** WANT_WRITE results in a row without a byte moving before the pump declares the engine stuck. */
const MAX_IDLE_SPINS = 1000;
/** Engine reads, at most, to find a peer's alert among the bytes received before the transport failed. */
const MAX_ALERT_READS = 64;

/**
 * Drive `engine` over a byte stream transport: run the handshake, then return the plaintext streams.
 *
 * The engine must have been created over the `engine` half of the BIO pair whose `network` half is given
 * here; from now on, only this pump may call the engine's I/O methods.
 *
 * @example A client over a Deno TCP connection (`Deno.Conn` is already a readable/writable pair)
 * ```ts ignore
 * import { createBioPair, createClient } from "@airlock/tls";
 * import { connectTls } from "@airlock/tls/adapters";
 *
 * const conn = await Deno.connect({ hostname: "example.com", port: 443 });
 * const { engine, network } = createBioPair();
 * const client = createClient({ serverName: "example.com", verifyPeer: ({ chain }) => pinned(chain) }, engine);
 * const tls = await connectTls(client, network, conn, { handshakeTimeoutMs: 10_000 });
 * const writer = tls.writable.getWriter();
 * await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
 * await writer.close(); // close_notify; the response still arrives
 * for await (const chunk of tls.readable) console.log(new TextDecoder().decode(chunk));
 * await tls.closed;
 * ```
 *
 * @example A client and a server in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { createBioPair, createClient, createServer, loadPrivateKey } from "@airlock/tls";
 * import { connectTls } from "@airlock/tls/adapters";
 * import "reflect-metadata";
 * import * as x509 from "@peculiar/x509";
 *
 * // A throwaway self-signed certificate; the client below accepts any.
 * const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
 * const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
 * const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: "CN=localhost", keys, signingAlgorithm: alg }, crypto);
 * const key = await loadPrivateKey(new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)));
 * const toServer = new TransformStream<Uint8Array, Uint8Array>();
 * const toClient = new TransformStream<Uint8Array, Uint8Array>();
 * const c = createBioPair(), s = createBioPair();
 * const client = createClient({ serverName: "localhost", verifyPeer: () => true }, c.engine);
 * const server = createServer({ certificates: [{ chain: [new Uint8Array(cert.rawData)], key }] }, s.engine);
 * const [ct, st] = await Promise.all([
 *   connectTls(client, c.network, { readable: toClient.readable, writable: toServer.writable }),
 *   connectTls(server, s.network, { readable: toServer.readable, writable: toClient.writable }),
 * ]);
 * const w = ct.writable.getWriter();
 * const [, received] = await Promise.all([
 *   w.write(new TextEncoder().encode("hello")).then(() => w.close()), // close_notify after "hello"
 *   new Response(st.readable).text(), // the server reads up to the client's close_notify
 * ]);
 * assert.equal(received, "hello");
 * await Promise.all([st.close(), ct.close()]);
 * ```
 *
 * @param engine An engine from `createClient` or `createServer`, not yet driven.
 * @param network The `network` half of the engine's BIO pair.
 * @param transport The byte stream to the peer; its readable and writable are locked from now on.
 * @param options Cancellation, a handshake timeout, and a verifier for WANT_RETRY_VERIFY.
 * @returns The plaintext streams, once the handshake is done.
 * @throws {TlsError} If the handshake fails (its alert has been handed to the transport).
 * @throws {DOMException} A `TimeoutError` after `handshakeTimeoutMs`, or the signal's reason.
 * @throws {TypeError} If the transport's streams are locked, or WANT_RETRY_VERIFY came without
 *   `onRetryVerify`.
 */
export function connectTls(
  engine: TlsEngine,
  network: Bio,
  transport: ByteStreamTransport,
  options: ConnectTlsOptions = {},
): Promise<TlsStream> {
  let pump: Pump;
  try {
    pump = new Pump(engine, network, transport, options);
  } catch (e) {
    return Promise.reject(e);
  }
  return pump.handshake();
}

/**
 * Bytes a read of a byte-stream transport asks for: one whole TLS record (16 KiB of content, 256 of
 * expansion, the 5-byte header). A byte stream that sizes its own chunks (`Deno.Conn`'s readable allocates
 * 64 KiB under every pending read) would keep that much per idle connection.
 */
const TRANSPORT_READ = 16384 + 256 + 5;

/** A BYOB reader where the transport is a byte stream (its reads then land in arrays we size), else a default one. */
function transportReader(
  readable: ReadableStream<Uint8Array>,
): ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader {
  if (notByteStreams.has(readable)) return readable.getReader();
  try {
    return readable.getReader({ mode: "byob" });
  } catch {
    return readable.getReader(); // not a byte stream (or locked: this throws the same TypeError again)
  }
}

/**
 * The pump's calls on `transport`: straight to the transport where it offers that (`directPorts`), else
 * through a reader and a writer of its streams. BYOB reads get a fresh array each (the stream takes it over).
 *
 * @throws {TypeError} If the transport's readable or writable is locked.
 */
function portOf(transport: ByteStreamTransport): TransportPort {
  const direct = directPorts.get(transport)?.();
  if (direct) return direct;
  if (transport.readable.locked || transport.writable.locked) {
    throw new TypeError("Cannot connect: the transport's readable or writable is locked");
  }
  const reader = transportReader(transport.readable);
  const writer = transport.writable.getWriter();
  return {
    read: reader instanceof ReadableStreamDefaultReader
      ? () => reader.read()
      : () => reader.read(new Uint8Array(TRANSPORT_READ)) as Promise<ReadableStreamReadResult<Uint8Array>>,
    cancel: (reason) => reader.cancel(reason),
    get ready() {
      return writer.ready;
    },
    write: (bytes) => writer.write(bytes),
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  };
}

/** A chunk's size for the writable's queue: its byte length (0 for what is not bytes: the sink refuses it). */
function byteLength(chunk: unknown): number {
  const n = (chunk as { byteLength?: unknown } | null | undefined)?.byteLength;
  return typeof n === "number" ? n : 0;
}

/** How a failure treats the transport: hand the engine's alert over and close it, or abort it. */
type Teardown = "alert" | "abort";

/** The pump behind a {@linkcode TlsStream}. */
class Pump implements TlsStream {
  readonly engine: TlsEngine;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly closed: Promise<void>;
  readonly #network: Bio;
  /** The transport, read and written through a port (`portOf`). */
  readonly #port: TransportPort;
  readonly #options: ConnectTlsOptions;
  #info: HandshakeInfo | undefined;

  // Transport input: chunks read but not yet fed into the BIO, and the transport's EOF.
  #inbound: Uint8Array[] = [];
  #reading = false;
  #transportEof = false;
  #eofSignalled = false;
  #inputWaiters: (() => void)[] = [];

  // Transport output: bytes taken from the BIO but not yet handed to the transport writer.
  #staged: Uint8Array[] = [];
  #stagedBytes = 0;
  #draining: Promise<void> = Promise.resolve();
  #drainRunning = false;

  // Plaintext output: chunks waiting in the writable's queue (its size function counts them in, the sink
  // out), small chunks gathered into one record, and the engine writes in call order (#serially).
  #queuedChunks = 0;
  #queuedBytes = 0;
  #gather: Uint8Array | undefined;
  #gathered = 0;
  #writeTail: Promise<unknown> = Promise.resolve();

  // Life cycle.
  #failure: { error: unknown } | undefined;
  #transportFailure: Promise<unknown> | undefined;
  #waiters = new Set<(error: unknown) => void>();
  #resolveClosed!: () => void;
  #rejectClosed!: (error: unknown) => void;
  #readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  #writeController: WritableStreamDefaultController | undefined;
  #readDone = false;
  #writeDone = false;
  #finished = false;
  #closing = false;
  #writeInFlight: Promise<void> | undefined;
  #shutdownCall: Promise<void> | undefined;
  #closeCall: Promise<void> | undefined;
  #verifyFailure: unknown;
  #timer: { id: unknown } | undefined;
  #unlisten: (() => void) | undefined;

  constructor(engine: TlsEngine, network: Bio, transport: ByteStreamTransport, options: ConnectTlsOptions) {
    this.#port = portOf(transport);
    this.engine = engine;
    this.#network = network;
    this.#options = options;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {}); // The caller may never look at it.
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#readController = c;
      },
      pull: (c) => this.#pull(c),
      cancel: () => {
        this.#readDone = true;
        this.#maybeFinish();
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      start: (c) => {
        this.#writeController = c;
        // abort() waits for the write in flight, which may wait for a transport that takes nothing: the
        // controller's signal says at once, and failing then lets that write, and so the abort, finish. In
        // a microtask: the signal fires inside abort(), before the stream starts erroring with the reason.
        c.signal?.addEventListener("abort", () => {
          queueMicrotask(() => this.#fail(c.signal.reason, "abort"));
        }, { once: true });
      },
      write: (chunk) => {
        const p = this.#write(chunk);
        this.#writeInFlight = p;
        return p;
      },
      close: () => this.#shutdownWrite(),
      abort: (reason) => {
        this.#fail(reason, "abort");
      },
    }, {
      highWaterMark: RECORD_PAYLOAD,
      // Called as each chunk enters the queue (and for a write refused because the stream is closing,
      // which then ends with close(), where what was gathered is sent anyway).
      size: (chunk) => {
        const n = byteLength(chunk);
        this.#queuedChunks++;
        this.#queuedBytes += n;
        return n;
      },
    });
  }

  get info(): HandshakeInfo {
    return this.#info!;
  }

  /** Run the handshake under the signal and the timer; resolve with this stream once it is done. */
  async handshake(): Promise<TlsStream> {
    const { signal, handshakeTimeoutMs } = this.#options;
    if (signal) {
      if (signal.aborted) {
        this.#fail(signal.reason, "abort");
        throw signal.reason;
      }
      const onAbort = () => this.#fail(signal.reason, "abort");
      signal.addEventListener("abort", onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener("abort", onAbort);
    }
    if (handshakeTimeoutMs !== undefined) {
      if (!(handshakeTimeoutMs >= 0)) {
        const error = new RangeError(
          `Cannot use handshakeTimeoutMs ${handshakeTimeoutMs}: expected a number >= 0`,
        );
        this.#fail(error, "abort");
        throw error;
      }
      const set = this.#options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
      this.#timer = {
        id: set(() => {
          this.#timer = undefined;
          this.#fail(
            new DOMException(
              `Cannot complete the TLS handshake: no result within ${handshakeTimeoutMs} ms`,
              "TimeoutError",
            ),
            "abort",
          );
        }, handshakeTimeoutMs),
      };
    }
    try {
      const r = await this.#drive("complete the handshake", () => this.engine.doHandshake(), true);
      if (r !== 1 || !this.engine.handshakeInfo) {
        this.#fail(new Error("Cannot complete the TLS handshake: the peer sent close_notify first"), "alert");
      }
    } catch (e) {
      this.#fail(e, "abort");
    }
    this.#stopTimer();
    if (this.#failure) throw this.#failure.error;
    this.#info = this.engine.handshakeInfo;
    return this;
  }

  close(): Promise<void> {
    this.#closeCall ??= this.#close();
    return this.#closeCall;
  }

  async keyUpdate(requestPeer = false): Promise<void> {
    this.#flushGathered().catch(() => {}); // its failure is the connection's: the drive below reports it
    await this.#serially(() => this.#drive("update keys", () => this.engine.keyUpdate(requestPeer), true));
  }

  // ---- the one driver ------------------------------------------------------------------------------

  /**
   * Call `op` (one engine call) until it completes, doing the I/O that its WANT_* results ask for.
   *
   * @param what What the operation does, for error messages ("read", "write", …).
   * @param op The engine call.
   * @param waitOutput Resolve only once everything the engine sealed was handed to the transport.
   * @returns The engine's result: > 0, or 0 for a controlled end (ZERO_RETURN, or shutdown's NONE).
   */
  async #drive(what: string, op: () => number, waitOutput: boolean): Promise<number> {
    try {
      return await this.#driveLoop(what, op, waitOutput);
    } catch (e) {
      throw this.#fail(e, "abort"); // The first failure wins: an engine error has already been handled.
    }
  }

  async #driveLoop(what: string, op: () => number, waitOutput: boolean): Promise<number> {
    let idle = 0;
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      this.#feed();
      const r = op();
      const code = this.engine.getError(r); // Now: the drain below calls the engine too.
      const out = this.#drain();
      if (r > 0 || code === SslError.NONE || code === SslError.ZERO_RETURN) {
        this.#wakeInput(); // Another operation waiting for input may be able to go on now.
        if (waitOutput) await this.#race(out);
        return Math.max(r, 0);
      }
      switch (code) {
        case SslError.WANT_WRITE: {
          // A read must not wait for the transport to take our bytes (both peers may be writing at once):
          // take the engine's output off its hands instead, a bounded amount, and call it again.
          if (!waitOutput && this.#stagedBytes < MAX_STAGED && this.#stage()) continue;
          const before = this.#network.pending() + this.engine.pendingOutput + this.#stagedBytes;
          await this.#race(out);
          if (before === 0 && ++idle > MAX_IDLE_SPINS) {
            throw this.#fail(
              new Error(`Cannot ${what}: the engine wants to write but has nothing to send`),
              "abort",
            );
          }
          continue;
        }
        case SslError.WANT_READ:
          await this.#race(this.#waitInput(what));
          continue;
        case SslError.WANT_ASYNC:
        case SslError.WANT_CLIENT_HELLO_CB: // a callback's promise: asyncWait() settles with it
        case SslError.WANT_X509_LOOKUP:
          await this.#race(this.engine.asyncWait());
          continue;
        case SslError.WANT_RETRY_VERIFY:
          await this.#retryVerify();
          continue;
        default: {
          const error = this.engine.error;
          if (error?.code === "truncated" && this.#closing && this.#writeDone) {
            return 0; // close() was called: the transport's end is the end we waited for.
          }
          const reason = this.#verifyFailure ?? error ??
            new Error(`Cannot ${what}: the engine failed with ${sslErrorName(code)}`);
          throw this.#fail(reason, "alert");
        }
      }
    }
  }

  /** Ask `onRetryVerify` for the verdict on the peer's chain; without one, reject the chain. */
  async #retryVerify(): Promise<void> {
    const decide = this.#options.onRetryVerify;
    let verdict = false;
    if (decide) {
      try {
        verdict = (await this.#race(
          new Promise<boolean>((resolve) => resolve(decide(this.engine))),
        )) === true;
      } catch (e) {
        if (this.#failure) throw this.#failure.error;
        this.#verifyFailure = e;
      }
    } else {
      this.#verifyFailure = new TypeError(
        "Cannot verify the peer's certificate: the engine asks for a verdict (retryVerify) and connectTls() " +
          "has no onRetryVerify option",
      );
    }
    // The engine answers a rejection with its alert on the next call, which then fails.
    this.engine.setVerifyResult(verdict);
  }

  // ---- transport input ------------------------------------------------------------------------------

  /** Move transport bytes into the BIO as far as it has room; signal EOF after the last byte. */
  #feed(): void {
    while (this.#inbound.length > 0) {
      const room = this.#network.writeGuarantee();
      if (room === 0) break;
      const head = this.#inbound[0]!;
      // A chunk that fits whole is handed over (`give`): the BIO keeps the transport's array as its storage
      // instead of copying it into storage of its own. Nothing here reads or writes the chunk afterwards.
      const n = head.length > room
        ? this.#network.write(head.subarray(0, room))
        : this.#network.give?.(head) ?? this.#network.write(head);
      if (n < head.length) {
        this.#inbound[0] = head.subarray(n);
        break;
      }
      this.#inbound.shift();
    }
    if (this.#transportEof && this.#inbound.length === 0 && !this.#eofSignalled) {
      this.#eofSignalled = true;
      this.#network.shutdownWrite();
    }
  }

  /** Wait until the transport brings bytes (or its EOF), or another operation changed the engine's state. */
  #waitInput(what: string): Promise<void> {
    if (this.#inbound.length > 0 && this.#network.writeGuarantee() > 0) return Promise.resolve();
    if (this.#eofSignalled) {
      return Promise.reject(
        new Error(`Cannot ${what}: the engine wants more bytes after the transport's EOF`),
      );
    }
    const wait = new Promise<void>((resolve) => this.#inputWaiters.push(resolve));
    if (!this.#reading && !this.#transportEof) {
      this.#reading = true;
      this.#port.read().then(
        (result) => {
          this.#reading = false;
          if (this.#failure) return;
          if (result.done) this.#transportEof = true;
          else {
            try {
              this.#inbound.push(asBytes(result.value, "Cannot read from the transport"));
            } catch (e) {
              this.#fail(e, "abort");
              return;
            }
          }
          this.#feed();
          this.#wakeInput();
        },
        (e) => {
          this.#reading = false;
          this.#transportFailed(e);
        },
      );
    }
    return wait;
  }

  #wakeInput(): void {
    const waiters = this.#inputWaiters;
    if (waiters.length === 0) return;
    this.#inputWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- transport output -----------------------------------------------------------------------------

  #hasOutput(): boolean {
    return this.#stagedBytes > 0 || this.#network.pending() > 0 || this.engine.pendingOutput > 0;
  }

  /**
   * Move everything the engine sealed, from its queue through the BIO, into the staging list (in order).
   *
   * @returns Whether the engine's own queue is now empty.
   */
  #stage(): boolean {
    for (let i = 0; i < 8; i++) {
      const bytes = this.#network.read();
      if (bytes.length > 0) {
        this.#staged.push(bytes);
        this.#stagedBytes += bytes.length;
      }
      if (this.engine.pendingOutput === 0) return true;
      this.engine.flush();
    }
    return this.engine.pendingOutput === 0;
  }

  /** Start handing sealed bytes to the transport writer, if not running; resolves when none are left. */
  #drain(): Promise<void> {
    if (!this.#drainRunning && this.#hasOutput() && !this.#failure) {
      this.#drainRunning = true;
      this.#draining = this.#drainLoop();
      this.#draining.catch(() => {}); // Operations that await it see the error; the rest need not.
    }
    return this.#draining;
  }

  async #drainLoop(): Promise<void> {
    try {
      while (this.#hasOutput()) {
        await this.#race(this.#port.ready);
        // Stage right before writing, so bytes leave in the order the engine sealed them.
        this.#stage();
        const chunks = this.#staged;
        this.#staged = [];
        this.#stagedBytes = 0;
        for (const bytes of chunks) this.#port.write(bytes).catch((e) => this.#transportFailed(e));
      }
    } catch (e) {
      throw await this.#transportFailed(e); // The transport writer failed (or the connection already had).
    } finally {
      this.#drainRunning = false; // In the same turn as the last check: a later #drain() starts afresh.
    }
  }

  // ---- the plaintext streams ------------------------------------------------------------------------

  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    let chunk: Uint8Array | undefined;
    await this.#drive("read", () => {
      const n = this.#readReceived(SCRATCH);
      if (n > 0) chunk = SCRATCH.slice(0, n); // now: another connection's read may fill SCRATCH next
      return n;
    }, false);
    if (chunk) c.enqueue(chunk);
    else this.#endRead();
  }

  /**
   * One engine read into `buf`; once it gave bytes, more reads while records already received fill the
   * rest, without waiting for the transport. Whatever stops them (WANT_READ, WANT_ASYNC, the peer's
   * close_notify, a fatal error) is sticky in the engine or comes again, so the next pull meets it.
   */
  #readReceived(buf: Uint8Array): number {
    let n = this.engine.read(buf);
    while (n > 0 && n < buf.length) {
      this.#feed();
      const r = this.engine.read(buf.subarray(n));
      if (r <= 0) break;
      n += r;
    }
    return n;
  }

  /**
   * The plaintext writable's sink. A chunk shorter than a record, with more chunks waiting in the queue
   * behind it, is gathered and its write resolves at once; the gathered bytes go to the engine as one write
   * when they fill a record, or with the chunk that empties the queue. Any other chunk goes to the engine
   * as it is, after what was gathered.
   */
  async #write(chunk: Uint8Array): Promise<void> {
    this.#queuedChunks--;
    this.#queuedBytes -= byteLength(chunk);
    if (this.#shutdownCall && !this.#failure) {
      // close() ran while writes were still queued: they fail, the connection goes on closing.
      throw new TypeError("Cannot write to the TLS stream: close_notify was sent");
    }
    let data: Uint8Array;
    try {
      data = asBytes(chunk, "Cannot write to the TLS stream");
    } catch (e) {
      throw this.#fail(e, "abort"); // The writable is dead either way; say so on both sides.
    }
    if (this.#gathered + data.length > RECORD_PAYLOAD) await this.#flushGathered();
    if (this.#failure) throw this.#failure.error;
    const more = this.#queuedChunks > 0; // counted now: more may have come while the record went out
    if (data.length < RECORD_PAYLOAD && (more || this.#gathered > 0)) {
      this.#gatherIn(data);
      if (more && this.#gathered < RECORD_PAYLOAD) return;
      return this.#flushGathered();
    }
    return this.#serially(() => this.#send(data));
  }

  /** Copy `data` into the gather buffer (the caller checked that it fits in a record). */
  #gatherIn(data: Uint8Array): void {
    const want = this.#gathered + data.length;
    let buf = this.#gather;
    if (!buf || buf.length < want) {
      // Sized for the chunks queued behind, so that a short run of small writes does not take 16 KiB.
      buf = new Uint8Array(Math.min(RECORD_PAYLOAD, Math.max(want + this.#queuedBytes, 1024)));
      if (this.#gather) buf.set(this.#gather.subarray(0, this.#gathered));
      this.#gather = buf;
    }
    buf.set(data, this.#gathered);
    this.#gathered = want;
  }

  /**
   * Hand what was gathered to the engine, after the engine writes already queued.
   *
   * @returns Resolves once those bytes were handed to the transport.
   */
  #flushGathered(): Promise<void> {
    if (this.#gathered === 0) return Promise.resolve();
    // A fresh buffer for what comes next: the engine may be handed this one again (after WANT_WRITE).
    const bytes = this.#gather!.subarray(0, this.#gathered);
    this.#gather = undefined;
    this.#gathered = 0;
    return this.#serially(() => this.#send(bytes));
  }

  /**
   * Run `job` (engine writes: data, KeyUpdate, close_notify) after the jobs queued before it, so that what
   * the caller handed over in one order reaches the engine in that order, one write at a time (a write
   * after WANT_WRITE must be retried before another).
   */
  #serially<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#writeTail.then(job);
    this.#writeTail = run.catch(() => {});
    return run;
  }

  /** Hand all of `data` to the engine (all or nothing, retried after WANT_*), then to the transport. */
  async #send(data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.length;) {
      const rest = data.subarray(off);
      // After WANT_WRITE the engine wants the same bytes again: the closure passes them.
      const n = await this.#drive("write", () => this.engine.write(rest), true);
      if (n <= 0) throw this.#fail(new Error("Cannot write: the engine accepted no bytes"), "abort");
      off += n;
    }
  }

  /**
   * Send close_notify once, after the write in flight and what was gathered; resolves when it was handed to
   * the transport.
   */
  #shutdownWrite(): Promise<void> {
    this.#shutdownCall ??= (async () => {
      await this.#writeInFlight?.catch(() => {});
      this.#flushGathered().catch(() => {}); // its failure is the connection's: the drive below reports it
      let sent = false;
      // shutdown() once; after WANT_WRITE only flush(), since shutdown() would then wait for the peer. Its 0
      // (ours sent, the peer's not yet come) is success here, though getError() says SYSCALL, as OpenSSL's.
      await this.#serially(() =>
        this.#drive(
          "close",
          () => {
            const r = sent ? this.engine.flush() : (sent = true, this.engine.shutdown());
            return r === 0 ? 1 : r;
          },
          true,
        )
      );
      this.#writeDone = true;
      this.#maybeFinish();
    })();
    return this.#shutdownCall;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    if (!this.#writeDone) {
      if (!this.writable.locked) {
        try {
          await this.writable.close();
        } catch {
          // Already closing or errored: the internal call below says which.
        }
      }
      await this.#shutdownWrite();
    }
    if (!this.#readDone) {
      await this.#drive("close", () => {
        // As OpenSSL says of a bidirectional shutdown: read, discarding what comes, until the peer's close_notify.
        for (;;) {
          const r = this.engine.read(SCRATCH);
          if (r <= 0) return r;
        }
      }, false);
      this.#endRead();
    }
    this.#maybeFinish();
    return this.closed;
  }

  #endRead(): void {
    this.#readDone = true;
    try {
      this.#readController?.close();
    } catch {
      // Already closed.
    }
    this.#maybeFinish();
  }

  // ---- endings --------------------------------------------------------------------------------------

  /** Both directions ended cleanly: close the transport (FIN after everything queued), then settle. */
  #maybeFinish(): void {
    if (this.#finished || this.#failure || !this.#readDone || !this.#writeDone) return;
    this.#finished = true;
    this.#stopTimer();
    this.#unlisten?.();
    this.#closeTransport(undefined).then(() => this.#resolveClosed());
  }

  /**
   * Close the transport writer (after everything queued), then cancel the reader: in that order, since
   * cancelling may destroy a socket before its last bytes leave. The writer gets {@linkcode LINGER_MS} to
   * finish; past that it is aborted.
   *
   * After an alert (`drainInput`), what the peer still sends is read and dropped until its end, within the
   * same {@linkcode LINGER_MS}, before the reader is cancelled: a TCP socket closed with unread bytes sends
   * a reset, which fails the peer's next write (EPIPE, ECONNRESET), and a runtime that then closes the
   * socket (Node's net does) drops our alert unread. A lingering close, as HTTP servers do.
   */
  async #closeTransport(reason: unknown, drainInput = false): Promise<void> {
    let id: ReturnType<typeof setTimeout> | undefined;
    const linger = new Promise<boolean>((resolve) => {
      id = setTimeout(() => resolve(false), LINGER_MS);
    });
    const closing = this.#port.close().then(() => true, () => false);
    const closedInTime = await Promise.race([closing, linger]);
    if (!closedInTime) await this.#port.abort(reason).catch(() => {});
    else if (drainInput) await Promise.race([this.#discardInput(), linger]);
    clearTimeout(id);
    await this.#port.cancel(reason).catch(() => {});
  }

  /** Read the transport to its end (or error), dropping what comes. */
  async #discardInput(): Promise<void> {
    try {
      while (!(await this.#port.read()).done);
    } catch {
      // The transport failed: that is an end too.
    }
  }

  /**
   * The transport failed with `error`. A peer that refuses us sends its fatal alert and closes, and our next
   * write or read may then fail (EPIPE, ECONNRESET): the alert, if its bytes came first, is what ended the
   * connection. So every transport failure comes here, and before the connection fails with `error`, what
   * the transport had delivered (up to the end of this turn) is read by the engine: if it holds the peer's
   * alert, that is the error. Which of the two the caller sees no longer depends on which callback runs
   * first.
   *
   * @returns The error that ended the connection.
   */
  #transportFailed(error: unknown): Promise<unknown> {
    if (this.#failure || this.#finished) return Promise.resolve(this.#fail(error, "abort"));
    this.#transportFailure ??= this.#receivedAlert().then(
      (alert) => this.#fail(alert ?? error, "abort"),
      () => this.#fail(error, "abort"),
    );
    return this.#transportFailure;
  }

  /**
   * Let the engine read what the transport delivered, taking in reads that settle before a zero-delay timer
   * fires; its error if that is the peer's fatal alert. Records read here are dropped: the connection is
   * ending either way.
   */
  async #receivedAlert(): Promise<TlsError | undefined> {
    let late = false, timer: ReturnType<typeof setTimeout> | undefined;
    const turnEnd = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        resolve();
      }, 0);
    });
    try {
      for (let i = 0; i < MAX_ALERT_READS && !this.#failure; i++) {
        this.#feed();
        const engine = this.engine;
        const r = engine.isHandshakeDone ? engine.read(SCRATCH) : engine.doHandshake();
        if (engine.error) return engine.error.code.startsWith("alert_received.") ? engine.error : undefined;
        const code = engine.getError(r);
        if (code === SslError.WANT_ASYNC) {
          await engine.asyncWait(); // e.g. a record opened by WebCrypto
        } else if (code === SslError.WANT_READ) {
          if ((late && this.#inbound.length === 0) || this.#eofSignalled) return undefined;
          await Promise.race([this.#waitInput("read").catch(() => {}), turnEnd]);
        } else if (r <= 0) {
          return undefined; // r > 0: the handshake is done, or data came (dropped): read on
        }
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * End the connection with `error`, once: error both plaintext streams, wake every waiting operation
   * with it, and tear the transport down. "alert" hands the engine's queued alert to the transport first
   * and then closes it; "abort" aborts it.
   *
   * @returns The error that ended the connection (the first one, if it had already ended).
   */
  #fail(error: unknown, teardown: Teardown): unknown {
    if (this.#failure) return this.#failure.error;
    if (this.#finished) return error;
    this.#failure = { error };
    this.#gather = undefined;
    this.#gathered = 0;
    this.#stopTimer();
    this.#unlisten?.();
    for (const reject of this.#waiters) reject(error);
    this.#waiters.clear();
    try {
      this.#readController?.error(error);
    } catch {
      // Already closed.
    }
    try {
      this.#writeController?.error(error);
    } catch {
      // Already closed.
    }
    this.#rejectClosed(error);
    if (teardown === "alert") {
      // Ignore back-pressure for these last few bytes (staged output, at most one record, the alert).
      this.#stage();
      for (const bytes of this.#staged) this.#port.write(bytes).catch(() => {});
      this.#staged = [];
      this.#stagedBytes = 0;
      this.#closeTransport(error, true);
    } else {
      this.#port.abort(error).catch(() => {});
      this.#port.cancel(error).catch(() => {});
    }
    return error;
  }

  /** `p`, or the connection's failure if that comes first. */
  #race<T>(p: Promise<T>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    return new Promise<T>((resolve, reject) => {
      this.#waiters.add(reject);
      p.then(
        (v) => {
          this.#waiters.delete(reject);
          resolve(v);
        },
        (e) => {
          this.#waiters.delete(reject);
          reject(e);
        },
      );
    });
  }

  #stopTimer(): void {
    const timer = this.#timer;
    if (!timer) return;
    this.#timer = undefined;
    (this.#options.clearTimer ?? ((id: unknown) => clearTimeout(id as number)))(timer.id);
  }
}
