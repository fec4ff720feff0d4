// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import { connectTls, type TlsStream } from "./stream.ts";
import {
  breakLastByte,
  digest,
  makeEndpoints,
  memoryPair,
  readAll,
  seededBytes,
  settle,
  sleep,
  state,
  withTimeout,
  writeAll,
} from "../testing/adapters.ts";
import { TlsError } from "../mod.ts";

/** Handshake both ends over an in-memory pair. */
async function connectPair(
  opts: Parameters<typeof makeEndpoints>[0] = {},
  highWaterMark = 4096,
): Promise<{ client: TlsStream; server: TlsStream; pipes: ReturnType<typeof memoryPair> }> {
  const { client, server } = await makeEndpoints(opts);
  const pipes = memoryPair(highWaterMark);
  const [ct, st] = await Promise.all([
    connectTls(client.engine, client.network, pipes.client),
    connectTls(server.engine, server.network, pipes.server),
  ]);
  return { client: ct, server: st, pipes };
}

/** Both sides closed their transport: the writable closed, the readable cancelled. */
function assertClosedBoth(pipes: ReturnType<typeof memoryPair>): void {
  assert.ok(pipes.c2s.writerClosed && pipes.s2c.readerCancelled, "the client closed its transport");
  assert.ok(pipes.s2c.writerClosed && pipes.c2s.readerCancelled, "the server closed its transport");
}

function isTlsError(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
    assert.equal(e.code, code);
    return true;
  };
}

/** "ping" up, closing the client's writable; "PONG" down, closing the server's; then both streams close. */
async function pingPong(client: TlsStream, server: TlsStream): Promise<void> {
  const [, got] = await Promise.all([
    writeAll(client.writable, new TextEncoder().encode("ping")),
    readAll(server.readable),
  ]);
  assert.equal(got.text, "ping");
  const [, answer] = await Promise.all([
    writeAll(server.writable, new TextEncoder().encode("PONG")),
    readAll(client.readable),
  ]);
  assert.equal(answer.text, "PONG");
  await Promise.all([client.closed, server.closed]);
}

Deno.test("connectTls() completes the handshake and carries data both ways", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await connectPair();
      assert.equal(client.info.version, "TLSv1.3");
      assert.equal(server.info.serverName, "localhost");
      await pingPong(client, server);
    })(),
    20_000,
    "ping",
  );
});

Deno.test("connectTls() waits out the callbacks' promises (WANT_CLIENT_HELLO_CB, WANT_X509_LOOKUP)", async () => {
  await withTimeout(
    (async () => {
      const later = <T>(v: T) => new Promise<T>((resolve) => setTimeout(() => resolve(v), 5));
      const { client, server } = await connectPair({
        server: { onClientHello: () => later(undefined), selectCertificate: () => later(undefined) },
      });
      assert.equal(client.info.version, "TLSv1.3");
      await pingPong(client, server);
    })(),
    20_000,
    "callbacks",
  );
});

Deno.test("connectTls() carries 8 MiB each way, checked by SHA-256", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair({}, 16384);
      const up = seededBytes(8 << 20, 1);
      const down = seededBytes(8 << 20, 2);
      const [, , atServer, atClient] = await Promise.all([
        writeAll(client.writable, up, { seed: 3 }),
        writeAll(server.writable, down, { seed: 4, maxChunk: 40_000 }),
        readAll(server.readable),
        readAll(client.readable),
      ]);
      assert.equal(atServer.length, up.length);
      assert.deepEqual(atServer.digest, digest(up));
      assert.equal(atClient.length, down.length);
      assert.deepEqual(atClient.digest, digest(down));
      await Promise.all([client.closed, server.closed]);
      assertClosedBoth(pipes);
    })(),
    110_000,
    "8 MiB",
  );
});

Deno.test("connectTls() applies back-pressure: a writer waits while the peer does not read", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair({}, 4096);
      const sentBefore = pipes.c2s.bytes;
      const data = seededBytes(4 << 20, 5);
      const writing = writeAll(client.writable, data, { maxChunk: 1 << 20 });
      for (let i = 0; i < 20; i++) await sleep(5);
      assert.equal(await state(writing), "pending");
      // In flight at most: the pipe (2 × 4 KiB plus one chunk), the BIOs and one engine record.
      const inFlight = pipes.c2s.bytes - sentBefore;
      assert.ok(inFlight < 128 * 1024, `only a bounded amount went out, not ${inFlight} bytes`);
      const [, got] = await Promise.all([writing, readAll(server.readable)]);
      assert.deepEqual(got.digest, digest(data));
      await writeAll(server.writable, new Uint8Array(0));
      await readAll(client.readable);
      await Promise.all([client.closed, server.closed]);
    })(),
    60_000,
    "back-pressure",
  );
});

Deno.test("connectTls() allows a half-close: the client closes its writable, then reads the answer", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair();
      await writeAll(client.writable, new TextEncoder().encode("question")); // close_notify goes out
      const q = await readAll(server.readable); // ends at the client's close_notify
      assert.equal(q.text, "question");
      assert.equal(pipes.c2s.writerClosed, false, "the transport stays open for the answer");
      assert.equal(await state(client.closed), "pending");
      const answer = seededBytes(300_000, 9);
      const [, a] = await Promise.all([writeAll(server.writable, answer), readAll(client.readable)]);
      assert.deepEqual(a.digest, digest(answer));
      await Promise.all([client.closed, server.closed]);
      assertClosedBoth(pipes);
    })(),
    20_000,
    "half-close",
  );
});

Deno.test("TlsStream.close() sends close_notify and waits for the peer's", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await connectPair();
      let serverSawEnd = false;
      const serving = (async () => {
        const got = await readAll(server.readable); // the client's close_notify ends it
        serverSawEnd = true;
        assert.equal(got.text, "unread by the client");
        await server.close();
      })();
      await writeAll(client.writable, new TextEncoder().encode("unread by the client"), { close: false });
      await client.close();
      assert.ok(serverSawEnd, "close() returned only after the peer's close_notify");
      await serving;
      await Promise.all([client.closed, server.closed]);
      // The readable was closed too.
      assert.equal((await client.readable.getReader().read()).done, true);
    })(),
    20_000,
    "close",
  );
});

Deno.test("TlsStream.close() discards unread data and tolerates a transport that ends without close_notify", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair();
      // The client never reads these: close() discards them, which lets the server's write finish.
      const serverWriting = writeAll(server.writable, seededBytes(200_000, 3), { close: false });
      const serverReading = readAll(server.readable); // ends at the client's close_notify
      const closing = client.close();
      await serverWriting;
      assert.equal((await serverReading).length, 0);
      assert.equal(await state(closing), "pending", "close() waits for the server's close_notify");
      pipes.s2c.cut(); // the server drops the connection instead of answering with close_notify
      await closing;
      await client.closed;
      assert.equal((await client.readable.getReader().read()).done, true);
      assert.ok(pipes.c2s.writerClosed, "the client closed its transport");
    })(),
    20_000,
    "close with truncation",
  );
});

Deno.test("connectTls() errors the readable with code truncated when the transport ends without close_notify", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair();
      await writeAll(client.writable, new TextEncoder().encode("partial"), { close: false });
      pipes.c2s.cut();
      const reader = server.readable.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), "partial");
      await assert.rejects(reader.read(), isTlsError("truncated"));
      await assert.rejects(server.closed, isTlsError("truncated"));
      await assert.rejects(server.writable.getWriter().write(new Uint8Array(1)), isTlsError("truncated"));
      client.close().catch(() => {});
      await settle(client.closed);
    })(),
    20_000,
    "truncation",
  );
});

Deno.test("connectTls() carries a rejected certificate to both sides", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints({ client: { verifyPeer: () => false } });
      const pipes = memoryPair();
      const [c, s] = await Promise.all([
        settle(connectTls(client.engine, client.network, pipes.client)),
        settle(connectTls(server.engine, server.network, pipes.server)),
      ]);
      assert.ok(!c.ok && isTlsError("certificate.rejected")(c.error));
      assert.ok(!s.ok && isTlsError("alert_received.bad_certificate")(s.error));
      assert.ok(pipes.c2s.writerClosed, "the client closed its transport after its alert");
      assert.ok(pipes.s2c.writerClosed, "the server closed its transport");
    })(),
    20_000,
    "rejected certificate",
  );
});

Deno.test("connectTls() carries a fatal error after the handshake to both sides' streams", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair();
      pipes.c2s.tamper = breakLastByte; // breaks a record's tag
      const clientWriter = client.writable.getWriter();
      await clientWriter.write(new TextEncoder().encode("tampered"));
      await assert.rejects(server.readable.getReader().read(), isTlsError("decrypt"));
      await assert.rejects(server.writable.getWriter().write(new Uint8Array(1)), isTlsError("decrypt"));
      await assert.rejects(server.closed, isTlsError("decrypt"));
      // The server's bad_record_mac alert reaches the client, whose streams both error.
      await assert.rejects(client.readable.getReader().read(), isTlsError("alert_received.bad_record_mac"));
      await assert.rejects(
        clientWriter.write(new Uint8Array(1)),
        isTlsError("alert_received.bad_record_mac"),
      );
      await assert.rejects(client.closed, isTlsError("alert_received.bad_record_mac"));
    })(),
    20_000,
    "fatal error",
  );
});

Deno.test("connectTls() reports the peer's alert, not the transport error that follows it in the same turn", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const pipes = memoryPair();
      // The client's transport: the server's bytes reach it through `deliver`, or wait in `held` while
      // `holding`; its writes go to the server until `refused`. Then a write delivers what was held (the
      // server's alert) and fails with EPIPE in the same turn, as a socket does after the peer's alert and
      // reset.
      let deliver!: ReadableStreamDefaultController<Uint8Array>;
      const readable = new ReadableStream<Uint8Array>({ start: (c) => void (deliver = c) });
      const held: Uint8Array[] = [];
      let holding = false;
      (async () => {
        for await (const chunk of pipes.client.readable) holding ? held.push(chunk) : deliver.enqueue(chunk);
      })();
      const toServer = pipes.client.writable.getWriter();
      let refused = false;
      const writable = new WritableStream<Uint8Array>({
        write: (chunk) => {
          if (!refused) return toServer.write(chunk);
          for (const bytes of held) deliver.enqueue(bytes);
          throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
        },
        close: () => toServer.close(),
        abort: (reason) => toServer.abort(reason),
      });
      const [ct, st] = await Promise.all([
        connectTls(client.engine, client.network, { readable, writable }),
        connectTls(server.engine, server.network, pipes.server),
      ]);
      // A broken record makes the server fail with bad_record_mac; its alert is held back.
      holding = true;
      pipes.c2s.tamper = breakLastByte; // breaks a record's tag
      const writer = ct.writable.getWriter();
      await writer.write(new TextEncoder().encode("tampered"));
      await assert.rejects(st.readable.getReader().read(), isTlsError("decrypt"));
      while (held.length === 0) await sleep(1);
      refused = true;
      await writer.write(new TextEncoder().encode("after the alert")).catch(() => {});
      await assert.rejects(ct.closed, isTlsError("alert_received.bad_record_mac"));
      await assert.rejects(ct.readable.getReader().read(), isTlsError("alert_received.bad_record_mac"));
    })(),
    20_000,
    "alert before EPIPE",
  );
});

Deno.test("connectTls() aborts the handshake when the signal fires", async () => {
  await withTimeout(
    (async () => {
      const { client } = await makeEndpoints();
      const pipes = memoryPair();
      const ac = new AbortController();
      const connecting = connectTls(client.engine, client.network, pipes.client, { signal: ac.signal });
      await sleep(20); // the server never answers
      const reason = new Error("stop");
      ac.abort(reason);
      await assert.rejects(connecting, (e) => e === reason);
      // The transport was aborted: the server's end sees the ClientHello, then the error.
      const raw = pipes.server.readable.getReader();
      const read = await settle((async () => {
        for (let i = 0; i < 100; i++) if ((await raw.read()).done) return "eof";
        return "more";
      })());
      assert.ok(!read.ok && read.error === reason);
    })(),
    20_000,
    "abort during handshake",
  );
});

Deno.test("connectTls() rejects at once with an aborted signal", async () => {
  const { client } = await makeEndpoints();
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    connectTls(client.engine, client.network, memoryPair().client, { signal: ac.signal }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
});

Deno.test("connectTls() aborts a transfer when the signal fires", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const pipes = memoryPair();
      const ac = new AbortController();
      const [ct, st] = await Promise.all([
        connectTls(client.engine, client.network, pipes.client, { signal: ac.signal }),
        connectTls(server.engine, server.network, pipes.server),
      ]);
      const writing = writeAll(ct.writable, seededBytes(4 << 20, 1)); // the server does not read
      const reading = ct.readable.getReader().read();
      await sleep(20);
      assert.equal(await state(writing), "pending");
      ac.abort(new Error("user went away"));
      const isReason = (e: unknown) => e instanceof Error && e.message === "user went away";
      await assert.rejects(writing, isReason);
      await assert.rejects(reading, isReason);
      await assert.rejects(ct.closed, isReason);
      await assert.rejects(ct.close(), isReason);
      // The server's side sees its transport fail.
      await assert.rejects(readAll(st.readable));
      await assert.rejects(st.closed);
    })(),
    20_000,
    "abort during transfer",
  );
});

Deno.test("connectTls() rejects with a TimeoutError when the handshake takes too long (injected timer)", async () => {
  await withTimeout(
    (async () => {
      const { client } = await makeEndpoints();
      const pipes = memoryPair();
      const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
      const connecting = connectTls(client.engine, client.network, pipes.client, {
        handshakeTimeoutMs: 5000,
        setTimer: (fn, ms) => timers.push({ fn, ms, cleared: false }) - 1,
        clearTimer: (id) => void (timers[id as number]!.cleared = true),
      });
      await sleep(10);
      assert.equal(timers.length, 1);
      assert.equal(timers[0]!.ms, 5000);
      assert.equal(await state(connecting), "pending");
      timers[0]!.fn();
      await assert.rejects(connecting, (e) => {
        assert.ok(e instanceof DOMException);
        assert.equal(e.name, "TimeoutError");
        assert.match(e.message, /TLS handshake.*5000 ms/);
        return true;
      });
    })(),
    20_000,
    "injected timeout",
  );
});

Deno.test("connectTls() clears the handshake timer once the handshake is done", async () => {
  const { client, server } = await makeEndpoints();
  const pipes = memoryPair();
  const cleared: unknown[] = [];
  const opts = {
    handshakeTimeoutMs: 1000,
    setTimer: () => "timer",
    clearTimer: (id: unknown) => void cleared.push(id),
  };
  const [ct] = await withTimeout(
    Promise.all([
      connectTls(client.engine, client.network, pipes.client, opts),
      connectTls(server.engine, server.network, pipes.server),
    ]),
    20_000,
    "handshake",
  );
  assert.deepEqual(cleared, ["timer"]);
  assert.equal(ct.info.version, "TLSv1.3");
});

Deno.test("connectTls() times out a real handshake within bounded time", async () => {
  const { server } = await makeEndpoints();
  const pipes = memoryPair();
  const start = performance.now();
  // The client never speaks; the server waits for a ClientHello.
  await withTimeout(
    assert.rejects(
      connectTls(server.engine, server.network, pipes.server, { handshakeTimeoutMs: 50 }),
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    ),
    5_000,
    "real timeout",
  );
  assert.ok(performance.now() - start < 4_000);
});

Deno.test("connectTls() asks onRetryVerify for the verdict after WANT_RETRY_VERIFY", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints({ pin: false, client: { retryVerify: true } });
      const pipes = memoryPair();
      let asked = 0;
      const [ct, st] = await Promise.all([
        connectTls(client.engine, client.network, pipes.client, {
          onRetryVerify: async (engine) => {
            asked++;
            await sleep(1);
            return engine.peerCertificates.length === 1;
          },
        }),
        connectTls(server.engine, server.network, pipes.server),
      ]);
      assert.equal(asked, 1);
      await Promise.all([writeAll(ct.writable, new Uint8Array(0)), writeAll(st.writable, new Uint8Array(0))]);
      await Promise.all([readAll(ct.readable), readAll(st.readable)]);
      await Promise.all([ct.closed, st.closed]);
    })(),
    20_000,
    "retry verify",
  );
});

Deno.test("connectTls() fails WANT_RETRY_VERIFY without onRetryVerify, and the server hears bad_certificate", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints({ pin: false, client: { retryVerify: true } });
      const pipes = memoryPair();
      const [c, s] = await Promise.all([
        settle(connectTls(client.engine, client.network, pipes.client)),
        settle(connectTls(server.engine, server.network, pipes.server)),
      ]);
      assert.ok(!c.ok && c.error instanceof TypeError && /onRetryVerify/.test(c.error.message));
      assert.ok(!s.ok && isTlsError("alert_received.bad_certificate")(s.error));
    })(),
    20_000,
    "retry verify without a verifier",
  );
});

Deno.test("TlsStream.keyUpdate() moves to new keys while data flows", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await connectPair();
      const data = seededBytes(200_000, 11);
      const writer = client.writable.getWriter();
      const reading = readAll(server.readable);
      await writer.write(data.subarray(0, 100_000));
      await client.keyUpdate(true);
      await writer.write(data.subarray(100_000));
      await writer.close();
      const got = await reading;
      assert.deepEqual(got.digest, digest(data));
      await writeAll(server.writable, new Uint8Array(0));
      await readAll(client.readable);
      await Promise.all([client.closed, server.closed]);
    })(),
    20_000,
    "key update",
  );
});

Deno.test("TlsStream.writable rejects chunks that are not bytes, and the connection ends", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair();
      const writer = (client.writable as unknown as WritableStream<unknown>).getWriter();
      await assert.rejects(writer.write("text"), TypeError);
      await assert.rejects(client.closed, TypeError);
      await assert.rejects(client.readable.getReader().read(), TypeError);
      assert.ok(pipes.c2s.writerAborted && pipes.s2c.readerCancelled);
      await assert.rejects(server.readable.getReader().read()); // its transport was aborted
      await assert.rejects(server.closed);
    })(),
    20_000,
    "bad chunk",
  );
});

Deno.test("connectTls() refuses a locked transport", async () => {
  const { client } = await makeEndpoints();
  const pipes = memoryPair();
  pipes.client.readable.getReader();
  await assert.rejects(connectTls(client.engine, client.network, pipes.client), TypeError);
});

Deno.test("TlsStream.writable's abort() ends a write that waits for a transport taking nothing", async () => {
  await withTimeout(
    (async () => {
      const { client, server, pipes } = await connectPair();
      const writer = client.writable.getWriter();
      const writing = writer.write(seededBytes(1 << 20, 12)); // the server does not read: it waits
      await sleep(20);
      assert.equal(await state(writing), "pending");
      const reason = new Error("user went away");
      await writer.abort(reason); // before, it waited for that write, forever
      await assert.rejects(writing, (e) => e === reason);
      await assert.rejects(client.closed, (e) => e === reason);
      await assert.rejects(client.readable.getReader().read(), (e) => e === reason);
      await assert.rejects(readAll(server.readable)); // its transport failed, without close_notify
      assert.ok(pipes.c2s.writerAborted, "the transport was aborted");
    })(),
    20_000,
    "abort while writing",
  );
});

/**
 * One direction as a byte stream (`type: "bytes"`, as `Deno.Conn`'s readable is): the writer's chunks are
 * enqueued, and every BYOB read's requested size is recorded.
 */
function bytePipe(): {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  asked: number[];
} {
  let controller!: ReadableByteStreamController;
  const asked: number[] = [];
  const readable = new ReadableStream({
    type: "bytes",
    start: (c) => void (controller = c),
    pull: (c) => {
      const view = c.byobRequest?.view;
      if (view) asked.push(view.byteLength);
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => controller.enqueue(chunk.slice()),
    close: () => controller.close(),
  });
  return { readable, writable, asked };
}

Deno.test("connectTls() reads a byte-stream transport with BYOB reads of one record's size, and carries 300 kB intact", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints({});
      const up = bytePipe(), down = bytePipe();
      const [ct, st] = await Promise.all([
        connectTls(client.engine, client.network, { readable: down.readable, writable: up.writable }),
        connectTls(server.engine, server.network, { readable: up.readable, writable: down.writable }),
      ]);
      const data = seededBytes(300_000, 9);
      const [, got] = await Promise.all([writeAll(ct.writable, data, { seed: 5 }), readAll(st.readable)]);
      assert.equal(got.length, data.length);
      assert.deepEqual(got.digest, digest(data));
      await Promise.all([ct.close(), st.close()]);
      // Every read asked for one record's worth (16,645 bytes), never a size of the stream's choosing.
      for (const pipe of [up, down]) {
        assert.ok(pipe.asked.length > 0, "the transport was read with BYOB reads");
        assert.ok(pipe.asked.every((n) => n === 16384 + 256 + 5), `asked ${[...new Set(pipe.asked)]}`);
      }
    })(),
    60_000,
    "a byte-stream transport",
  );
});
