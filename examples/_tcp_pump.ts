// Copyright 2026 the airlock authors. MIT license.

/**
 * A small pump between an airlock engine's BIO pair and a `node:net` socket (Deno, Bun and Node all have
 * `node:net`). It is the pump loop in its plainest form, for the examples and the interop tests; the
 * transport adapters proper come later.
 *
 * Every operation calls the engine, moves whatever it sealed from the network half to the socket, and then
 * acts on `getError(ret)`:
 *
 * - WANT_READ: wait for the socket to deliver bytes (or its FIN), feed them into the network half, call again;
 * - WANT_WRITE: the network half was drained to the socket already, call again;
 * - WANT_ASYNC: `await engine.asyncWait()`, call again;
 * - ZERO_RETURN: the peer sent close_notify;
 * - SSL, SYSCALL: throw the engine's {@linkcode TlsError} (its alert has been sent already).
 *
 * Back-pressure holds both ways: the socket is paused while more than {@linkcode MAX_INBOUND} bytes wait to
 * enter the network half (whose capacity is bounded), and the pump waits for `'drain'` when the socket's
 * write buffer is full. The socket's FIN becomes `network.shutdownWrite()`, so the engine sees EOF and
 * reports a truncation (SYSCALL) if no close_notify came first.
 *
 * Create sockets with `allowHalfOpen: true`, so the peer's FIN does not end our side before our
 * close_notify has gone out. One operation at a time: a second call while one is running throws.
 *
 * @example An echo over TLS
 * ```ts ignore
 * const { engine, network } = createBioPair();
 * const tls = pumpSocket(createServer(config, engine), network, socket);
 * await tls.handshake();
 * for (let data; (data = await tls.read()) !== null;) await tls.write(data);
 * await tls.close();
 * ```
 *
 * @module
 */

import type { Socket } from "node:net";
import { type Bio, type HandshakeInfo, SslError, sslErrorName, type TlsEngine } from "../mod.ts";

/** Bytes received from the socket that may wait outside the BIO before the socket is paused. */
export const MAX_INBOUND: number = 64 * 1024;

/**
 * Pump `engine`'s TLS records over `socket`.
 *
 * @param engine An engine created over the `engine` half of a BIO pair.
 * @param network The `network` half of the same pair.
 * @param socket A connected socket (created with `allowHalfOpen: true`).
 * @returns The promise-based view of the connection.
 */
export function pumpSocket(engine: TlsEngine, network: Bio, socket: Socket): TlsSocket {
  return new TlsSocket(engine, network, socket);
}

/** An engine driven over a socket: handshake, read, write, keyUpdate and close, each a promise. */
export class TlsSocket {
  /** The engine being driven. */
  readonly engine: TlsEngine;
  /** The underlying socket. */
  readonly socket: Socket;
  readonly #network: Bio;
  readonly #inbound: Uint8Array[] = [];
  #inboundSize = 0;
  #paused = false;
  #ended = false;
  #eofSignalled = false;
  #closed = false;
  #finished = false;
  #needDrain = false;
  #failure: Error | undefined;
  #peerClosed = false;
  #busy = false;
  #wake: (() => void) | undefined;

  /**
   * Attach to the socket's events. Prefer {@linkcode pumpSocket}.
   *
   * @param engine The engine.
   * @param network The network half of the engine's BIO pair.
   * @param socket The socket.
   */
  constructor(engine: TlsEngine, network: Bio, socket: Socket) {
    this.engine = engine;
    this.socket = socket;
    this.#network = network;
    socket.on("data", (chunk: Uint8Array) => {
      this.#inbound.push(chunk);
      this.#inboundSize += chunk.length;
      this.#feed();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#feed();
      this.#notify();
    });
    socket.on("drain", () => {
      this.#needDrain = false;
      this.#notify();
    });
    socket.on("finish", () => {
      this.#finished = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#failure ??= error;
      this.#notify();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#notify();
    });
    engine.addEventListener("peerclosed", () => {
      this.#peerClosed = true;
    });
  }

  /**
   * Run the handshake to completion.
   *
   * @returns What was negotiated.
   * @throws {TlsError} If the handshake fails; the alert was sent.
   * @throws {Error} If the socket fails, or the peer closes before the handshake is done.
   */
  async handshake(): Promise<HandshakeInfo> {
    const r = await this.#run("handshake", () => this.engine.doHandshake());
    if (r !== 1 || !this.engine.handshakeInfo) {
      throw new Error("Cannot complete the handshake: the peer sent close_notify first");
    }
    return this.engine.handshakeInfo;
  }

  /**
   * Read the next decrypted bytes (at most `max`), running the handshake first if needed.
   *
   * @param max The most bytes to return.
   * @returns The bytes, or `null` once the peer has sent close_notify.
   */
  async read(max = 16384): Promise<Uint8Array | null> {
    const buf = new Uint8Array(max);
    const r = await this.#run("read", () => this.engine.read(buf));
    return r > 0 ? buf.slice(0, r) : null;
  }

  /**
   * Encrypt and send all of `data`; resolves once it has been handed to the socket.
   *
   * @param data The plaintext.
   */
  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const rest = data.subarray(off);
      // After WANT_WRITE the engine wants the same bytes again: the closure passes them.
      off += await this.#run("write", () => this.engine.write(rest));
    }
  }

  /**
   * Send a KeyUpdate (RFC 8446 §4.6.3) and flush it.
   *
   * @param requestPeer Ask the peer to update its sending key too.
   */
  async keyUpdate(requestPeer = false): Promise<void> {
    await this.#run("keyUpdate", () => this.engine.keyUpdate(requestPeer));
    await this.#run("flush", () => this.engine.flush());
  }

  /**
   * Close the connection: send close_notify, wait for the peer's (application data that arrives meanwhile
   * is discarded), then end the socket. If the peer already closed the transport after its close_notify,
   * our close_notify cannot be delivered and that is not an error.
   */
  async close(): Promise<void> {
    try {
      for (;;) {
        const r = await this.#run("shutdown", () => {
          const scratch = new Uint8Array(16384);
          while (this.engine.pendingPlaintext > 0) this.engine.read(scratch);
          return this.engine.shutdown();
        });
        if (r === 1) break;
      }
    } catch (e) {
      if (!this.#peerClosed || this.engine.error) throw e;
    }
    if (this.#closed) return;
    this.socket.end();
    while (!this.#finished && !this.#closed && !this.#failure) await this.#wait();
  }

  /**
   * Drop the connection at once, without close_notify.
   *
   * @param error Reported to the socket's listeners.
   */
  destroy(error?: Error): void {
    this.socket.destroy(error);
  }

  /** Call `op` until it completes, doing the I/O its WANT_* results ask for. */
  async #run(what: string, op: () => number): Promise<number> {
    if (this.#busy) throw new TypeError(`Cannot ${what}: another operation on this connection is running`);
    this.#busy = true;
    try {
      for (;;) {
        this.#feed();
        const r = op();
        await this.#flushOut();
        if (r > 0) return r;
        const code = this.engine.getError(r);
        switch (code) {
          case SslError.NONE: // shutdown() after sending our close_notify
          case SslError.ZERO_RETURN:
            return 0;
          case SslError.WANT_WRITE:
            continue;
          case SslError.WANT_ASYNC:
            await this.engine.asyncWait();
            continue;
          case SslError.WANT_READ:
            await this.#readable(what);
            continue;
          default:
            throw this.engine.error ??
              new Error(`Cannot ${what}: the engine failed with ${sslErrorName(code)}`);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Move buffered socket bytes into the network half, as far as it has room; signal EOF after the last. */
  #feed(): void {
    while (this.#inbound.length > 0) {
      const room = this.#network.writeGuarantee();
      if (room === 0) break;
      const head = this.#inbound[0]!;
      const n = this.#network.write(head.length > room ? head.subarray(0, room) : head);
      this.#inboundSize -= n;
      if (n < head.length) {
        this.#inbound[0] = head.subarray(n);
        break;
      }
      this.#inbound.shift();
    }
    if (this.#ended && this.#inbound.length === 0 && !this.#eofSignalled) {
      this.#eofSignalled = true;
      this.#network.shutdownWrite();
    }
    if (!this.#paused && this.#inboundSize > MAX_INBOUND) {
      this.#paused = true;
      this.socket.pause();
    } else if (this.#paused && this.#inboundSize <= MAX_INBOUND / 2) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  /** Write everything the engine sealed to the socket, waiting for 'drain' when its buffer is full. */
  async #flushOut(): Promise<void> {
    while (this.#network.pending() > 0) {
      while (this.#needDrain) {
        this.#checkWritable();
        await this.#wait();
      }
      this.#checkWritable();
      if (!this.socket.write(this.#network.read())) this.#needDrain = true;
    }
  }

  #checkWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed || this.socket.destroyed) throw new Error("Cannot write to the socket: it is closed");
  }

  /** Wait until the socket brings something new for an engine that wants to read. */
  async #readable(what: string): Promise<void> {
    if (this.#inbound.length > 0 && this.#network.writeGuarantee() > 0) return; // feed() makes progress
    if (this.#eofSignalled) {
      throw new Error(`Cannot ${what}: the engine wants more bytes after the transport's EOF`);
    }
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new Error(`Cannot ${what}: the socket closed`);
    await this.#wait();
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
