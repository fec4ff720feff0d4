// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import {
  connectTlsOverMessages,
  type DataChannelLike,
  dataChannelTransport,
  messageStreams,
  type MessageTransport,
  type WebSocketLike,
  webSocketTransport,
} from "./message.ts";
import type { TlsStream } from "./stream.ts";
import {
  digest,
  makeEndpoints,
  messagePair,
  type MessagePairOptions,
  readAll,
  seededBytes,
  settle,
  sleep,
  state,
  webSocketServer,
  withTimeout,
  writeAll,
} from "../testing/adapters.ts";
import { TlsError } from "../mod.ts";

async function connectOverMessages(
  pairOptions: MessagePairOptions = {},
  streamOptions: Parameters<typeof connectTlsOverMessages>[3] = {},
): Promise<{ client: TlsStream; server: TlsStream; pair: ReturnType<typeof messagePair> }> {
  const { client, server } = await makeEndpoints();
  const pair = messagePair(pairOptions);
  const [ct, st] = await Promise.all([
    connectTlsOverMessages(client.engine, client.network, pair.client, streamOptions),
    connectTlsOverMessages(server.engine, server.network, pair.server, streamOptions),
  ]);
  return { client: ct, server: st, pair };
}

Deno.test("connectTlsOverMessages() carries 1 MiB each way over messages split and merged at random", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pair } = await connectOverMessages({ seed: 0x5eed, maxDelivered: 3000 });
      const up = seededBytes(1 << 20, 21);
      const down = seededBytes(1 << 20, 22);
      const [, , atServer, atClient] = await Promise.all([
        writeAll(client.writable, up, { seed: 1, maxChunk: 50_000 }),
        writeAll(server.writable, down, { seed: 2, maxChunk: 5_000 }),
        readAll(server.readable),
        readAll(client.readable),
      ]);
      assert.deepEqual(atServer.digest, digest(up));
      assert.deepEqual(atClient.digest, digest(down));
      await Promise.all([client.closed, server.closed]);
      for (const link of [pair.c2s, pair.s2c]) {
        assert.ok(link.merged > 10, `messages were merged (${link.merged})`);
        assert.ok(link.split > 10, `messages were split (${link.split})`);
        assert.ok(Math.max(...link.delivered) <= 3000);
      }
    })(),
    60_000,
    "1 MiB over messages",
  );
});

Deno.test("connectTlsOverMessages() splits writes at maxMessageSize", async () => {
  await withTimeout(
    (async () => {
      // The pair throws on a send above 1000 bytes, which would fail the connection.
      const { client, server, pair } = await connectOverMessages({ seed: 3, maxMessageSize: 1000 });
      const data = seededBytes(100_000, 5);
      const [, got] = await Promise.all([writeAll(client.writable, data), readAll(server.readable)]);
      assert.deepEqual(got.digest, digest(data));
      assert.ok(Math.max(...pair.c2s.sent) <= 1000 && Math.max(...pair.s2c.sent) <= 1000);
      assert.ok(pair.c2s.sent.filter((n) => n === 1000).length > 50);
      await writeAll(server.writable, new Uint8Array(0));
      await readAll(client.readable);
      await Promise.all([client.closed, server.closed]);
    })(),
    30_000,
    "maxMessageSize",
  );
});

Deno.test("connectTlsOverMessages() holds writes back while bufferedAmount is above the high-water mark", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pair } = await connectOverMessages({ seed: 4 }, {
        sendHighWaterMark: 64 * 1024,
        pollIntervalMs: 1,
      });
      pair.c2s.paused = true; // nothing leaves: bufferedAmount only grows
      const data = seededBytes(1536 * 1024, 6);
      const writing = writeAll(client.writable, data, { maxChunk: 1 << 20 });
      for (let i = 0; i < 20; i++) await sleep(5);
      assert.equal(await state(writing), "pending");
      const buffered = pair.client.bufferedAmount!();
      assert.ok(buffered > 0 && buffered < 128 * 1024, `bounded: ${buffered} bytes queued`);
      pair.c2s.resume();
      const [, got] = await Promise.all([writing, readAll(server.readable)]);
      assert.deepEqual(got.digest, digest(data));
      await writeAll(server.writable, new Uint8Array(0));
      await readAll(client.readable);
      await Promise.all([client.closed, server.closed]);
    })(),
    60_000,
    "bufferedAmount",
  );
});

Deno.test("connectTlsOverMessages() reports a transport closed without close_notify as truncated", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pair } = await connectOverMessages({ seed: 5 });
      await writeAll(client.writable, new TextEncoder().encode("half a conversation"), { close: false });
      pair.client.close(); // the raw transport, behind the TLS stream's back
      const reader = server.readable.getReader();
      assert.equal(new TextDecoder().decode((await reader.read()).value), "half a conversation");
      await assert.rejects(reader.read(), (e) => e instanceof TlsError && e.code === "truncated");
      await assert.rejects(server.closed, (e) => e instanceof TlsError && e.code === "truncated");
      await settle(client.close());
    })(),
    20_000,
    "truncation",
  );
});

Deno.test("connectTlsOverMessages() carries a transport error to the TLS streams", async () => {
  await withTimeout(
    (async () => {
      const { server, pair } = await connectOverMessages({ seed: 6 });
      const down = new Error("link down");
      pair.c2s.fail(down);
      await assert.rejects(server.readable.getReader().read(), (e) => e === down);
      await assert.rejects(server.writable.getWriter().write(new Uint8Array(1)), (e) => e === down);
      await assert.rejects(server.closed, (e) => e === down);
    })(),
    20_000,
    "transport error",
  );
});

Deno.test("messageStreams() errors the readable when more than maxReceiveBuffer bytes wait", async () => {
  let deliver = (_: Uint8Array) => {};
  let closed = 0;
  const transport: MessageTransport = {
    send: () => {},
    onMessage: (fn) => (deliver = fn),
    onClose: () => {},
    close: () => void closed++,
  };
  const { readable } = messageStreams(transport, { maxReceiveBuffer: 1000 });
  deliver(new Uint8Array(600));
  deliver(new Uint8Array(600));
  const reader = readable.getReader();
  await assert.rejects(reader.read(), RangeError);
  assert.equal(closed, 1);
});

Deno.test("messageStreams() rejects bad options", () => {
  const transport = { send: () => {}, onMessage: () => {}, onClose: () => {}, close: () => {} };
  assert.throws(() => messageStreams({ ...transport, maxMessageSize: 0 }), RangeError);
  assert.throws(() => messageStreams({ ...transport, maxMessageSize: 1.5 }), RangeError);
  assert.throws(() => messageStreams(transport, { sendHighWaterMark: -1 }), RangeError);
});

// ---- webSocketTransport() -----------------------------------------------------------------------------

/**
 * An in-memory message channel with the web API's shape: `state` 0 connecting, 1 open, 2 closing, 3 closed;
 * `pair()` connects two; `sizes` records each message sent.
 */
class FakeChannel extends EventTarget {
  binaryType = "blob";
  state = 0;
  bufferedAmount = 0;
  peer: FakeChannel | undefined;
  readonly sizes: number[] = [];

  static pair<T extends FakeChannel>(this: new () => T): [T, T] {
    const a = new this();
    const b = new this();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  open(): void {
    this.state = 1;
    this.dispatchEvent(new Event("open"));
  }

  send(data: Uint8Array | string): void {
    if (this.state !== 1) throw new Error("InvalidStateError");
    const copy = typeof data === "string" ? data : data.slice();
    const n = copy.length;
    this.sizes.push(n);
    this.bufferedAmount += n;
    setTimeout(() => {
      this.bufferedAmount -= n;
      const peer = this.peer!;
      if (peer.state !== 1) return;
      const payload = typeof copy === "string" || peer.binaryType !== "arraybuffer" ? copy : copy.buffer;
      peer.dispatchEvent(Object.assign(new Event("message"), { data: payload }));
    }, 0);
  }

  close(code = 1000, reason = ""): void {
    if (this.state >= 2) return;
    this.state = 2;
    setTimeout(() => {
      this.finish(code, reason, true);
      this.peer?.finish(code, reason, true);
    }, 0);
  }

  finish(code: number, reason: string, wasClean: boolean): void {
    if (this.state === 3) return;
    this.state = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean }));
  }
}

/** A WebSocket: its readyState is the number. */
class FakeWebSocket extends FakeChannel implements WebSocketLike {
  get readyState(): number {
    return this.state;
  }
  set readyState(value: number) {
    this.state = value;
  }
}

/** An RTCDataChannel: its readyState is the name. */
class FakeDataChannel extends FakeChannel implements DataChannelLike {
  get readyState(): string {
    return ["connecting", "open", "closing", "closed"][this.state]!;
  }
}

Deno.test("webSocketTransport() carries TLS over a WebSocket, waiting for it to open", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const [a, b] = FakeWebSocket.pair();
      const connecting = Promise.all([
        connectTlsOverMessages(client.engine, client.network, webSocketTransport(a)),
        connectTlsOverMessages(server.engine, server.network, webSocketTransport(b)),
      ]);
      assert.equal(a.binaryType, "arraybuffer");
      await sleep(5);
      a.open();
      b.open();
      const [ct, st] = await connecting;
      const data = seededBytes(200_000, 8);
      const [, got] = await Promise.all([writeAll(ct.writable, data), readAll(st.readable)]);
      assert.deepEqual(got.digest, digest(data));
      await writeAll(st.writable, new Uint8Array(0));
      await readAll(ct.readable);
      await Promise.all([ct.closed, st.closed]);
      await sleep(5);
      assert.equal(a.readyState, 3);
      assert.equal(b.readyState, 3);
    })(),
    20_000,
    "fake WebSocket",
  );
});

Deno.test("webSocketTransport() treats a text message as an error and closes with 1003", async () => {
  const [a, b] = FakeWebSocket.pair();
  a.open();
  b.open();
  const t = webSocketTransport(a);
  const got: unknown[] = [];
  t.onMessage(() => got.push("message"));
  t.onClose((e) => got.push(e));
  let code = 0;
  a.close = (c = 0) => void (code = c);
  b.send("hello" as unknown as Uint8Array);
  await sleep(5);
  assert.equal(code, 1003);
  assert.equal(got.length, 1);
  assert.ok(got[0] instanceof TypeError);
});

Deno.test("webSocketTransport() reports an unclean close as an error and a clean one as the end", () => {
  const [a, b] = FakeWebSocket.pair();
  a.open();
  b.open();
  const ends: unknown[] = [];
  webSocketTransport(a).onClose((e) => ends.push(e));
  webSocketTransport(b).onClose((e) => ends.push(e));
  a.finish(1006, "", false);
  b.finish(1000, "", true);
  assert.equal(ends.length, 2);
  assert.ok(ends[0] instanceof Error && /1006/.test(ends[0].message));
  assert.equal(ends[1], undefined);
});

Deno.test("webSocketTransport() reports a WebSocket that is already closed", async () => {
  const [a] = FakeWebSocket.pair();
  a.readyState = 3;
  const t = webSocketTransport(a);
  const ends: unknown[] = [];
  t.onClose((e) => ends.push(e));
  await sleep(0);
  assert.equal(ends.length, 1);
  assert.ok(ends[0] instanceof Error);
  assert.throws(() => t.send(new Uint8Array(1)), /not open/);
});

Deno.test({
  name: "webSocketTransport() carries TLS over the runtime's real WebSocket",
  ignore: typeof (globalThis as { WebSocket?: unknown }).WebSocket !== "function",
  fn: async () => {
    await withTimeout(
      (async () => {
        const { client, server } = await makeEndpoints();
        let serving: Promise<void> | undefined;
        const ws = await webSocketServer((transport) => {
          serving = (async () => {
            const st = await connectTlsOverMessages(server.engine, server.network, transport);
            await st.readable.pipeTo(st.writable); // echo until close_notify, then send ours
            await st.closed;
          })();
        });
        try {
          const socket = new WebSocket(ws.url);
          const ct = await connectTlsOverMessages(client.engine, client.network, webSocketTransport(socket), {
            handshakeTimeoutMs: 10_000,
          });
          const data = seededBytes(300_000, 9);
          const [, got] = await Promise.all([writeAll(ct.writable, data), readAll(ct.readable)]);
          assert.deepEqual(got.digest, digest(data));
          await ct.closed;
          await serving;
        } finally {
          await ws.close();
        }
      })(),
      30_000,
      "real WebSocket",
    );
  },
});

// ---- dataChannelTransport() ---------------------------------------------------------------------------

Deno.test("dataChannelTransport() carries TLS over a data channel in messages no longer than its limit", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const [a, b] = FakeDataChannel.pair();
      const connecting = Promise.all([
        connectTlsOverMessages(
          client.engine,
          client.network,
          dataChannelTransport(a, { maxMessageSize: 1000 }),
        ),
        connectTlsOverMessages(server.engine, server.network, dataChannelTransport(b)),
      ]);
      assert.equal(a.binaryType, "arraybuffer");
      await sleep(5);
      a.open();
      b.open();
      const [ct, st] = await connecting;
      const data = seededBytes(100_000, 10);
      const [, got] = await Promise.all([writeAll(ct.writable, data), readAll(st.readable)]);
      assert.deepEqual(got.digest, digest(data));
      await writeAll(st.writable, new Uint8Array(0));
      await readAll(ct.readable);
      await Promise.all([ct.closed, st.closed]);
      assert.ok(a.sizes.length > 100 && Math.max(...a.sizes) <= 1000, `sizes ${a.sizes.slice(0, 10)}`);
      assert.ok(Math.max(...b.sizes) > 1000 && Math.max(...b.sizes) <= 16384, `sizes ${b.sizes}`);
      await sleep(5);
      assert.equal(a.readyState, "closed");
      assert.equal(b.readyState, "closed");
    })(),
    20_000,
    "fake data channel",
  );
});

Deno.test("dataChannelTransport() ends at a close, fails at an error or a text message", async () => {
  const [a, b] = FakeDataChannel.pair();
  a.open();
  b.open();
  const ends: unknown[] = [];
  dataChannelTransport(a).onClose((e) => ends.push(e));
  a.finish(1000, "", true);
  assert.equal(ends.length, 1);
  assert.equal(ends[0], undefined);

  const t = dataChannelTransport(b);
  t.onClose((e) => ends.push(e));
  t.onMessage(() => ends.push("message"));
  let closed = false;
  b.close = () => void (closed = true);
  const [c] = FakeDataChannel.pair();
  c.peer = b;
  c.open();
  c.send("text" as unknown as Uint8Array);
  await sleep(5);
  assert.ok(closed);
  assert.equal(ends.length, 2);
  assert.ok(ends[1] instanceof TypeError && /binary messages/.test(ends[1].message));

  const [d] = FakeDataChannel.pair();
  d.open();
  const failed: unknown[] = [];
  dataChannelTransport(d).onClose((e) => failed.push(e));
  d.dispatchEvent(new Event("error"));
  d.finish(0, "", false);
  assert.equal(failed.length, 1);
  assert.ok(failed[0] instanceof Error && /data channel failed/.test(failed[0].message));
});

Deno.test("dataChannelTransport() refuses a bad maxMessageSize and a closed channel", async () => {
  const [a] = FakeDataChannel.pair();
  assert.throws(() => dataChannelTransport(a, { maxMessageSize: 0 }), RangeError);
  assert.throws(() => dataChannelTransport(a, { maxMessageSize: 1.5 }), RangeError);
  a.state = 3;
  const t = dataChannelTransport(a);
  const ends: unknown[] = [];
  t.onClose((e) => ends.push(e));
  await sleep(0);
  assert.ok(ends[0] instanceof Error && /closed/.test(ends[0].message));
  assert.throws(() => t.send(new Uint8Array(1)), /not open \(closed\)/);
});
