// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import net from "node:net";
import { nodeSocketStreams } from "./node.ts";
import { connectTls, type TlsStream } from "./stream.ts";
import { directPorts } from "./_transport.ts";
import {
  digest,
  makeEndpoints,
  readAll,
  seededBytes,
  sleep,
  state,
  withTimeout,
  writeAll,
} from "../testing/adapters.ts";
import { TlsError } from "../mod.ts";

/** A TCP listener on 127.0.0.1 (port 0) and a connected client socket, both with allowHalfOpen off. */
async function tcpPair(): Promise<{ client: net.Socket; server: net.Socket; close(): Promise<void> }> {
  const listener = net.createServer(); // allowHalfOpen off: nodeSocketStreams() turns it on
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = listener.address() as net.AddressInfo;
  const client = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  const server = await accepted;
  return {
    client,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.destroy();
        listener.close(() => resolve());
      }),
  };
}

async function connectOverTcp(): Promise<{
  client: TlsStream;
  server: TlsStream;
  sockets: Awaited<ReturnType<typeof tcpPair>>;
}> {
  const { client, server } = await makeEndpoints();
  const sockets = await tcpPair();
  const [ct, st] = await Promise.all([
    connectTls(client.engine, client.network, nodeSocketStreams(sockets.client), {
      handshakeTimeoutMs: 10_000,
    }),
    connectTls(server.engine, server.network, nodeSocketStreams(sockets.server), {
      handshakeTimeoutMs: 10_000,
    }),
  ]);
  return { client: ct, server: st, sockets };
}

Deno.test("nodeSocketStreams() carries TLS over TCP on 127.0.0.1: 4 MiB each way, close_notify both ways", async () => {
  await withTimeout(
    (async () => {
      const { client, server, sockets } = await connectOverTcp();
      try {
        const up = seededBytes(4 << 20, 31);
        const down = seededBytes(4 << 20, 32);
        const [, , atServer, atClient] = await Promise.all([
          writeAll(client.writable, up, { seed: 1 }),
          writeAll(server.writable, down, { seed: 2, maxChunk: 9_000 }),
          readAll(server.readable),
          readAll(client.readable),
        ]);
        assert.deepEqual(atServer.digest, digest(up));
        assert.deepEqual(atClient.digest, digest(down));
        await Promise.all([client.closed, server.closed]);
      } finally {
        await sockets.close();
      }
    })(),
    60_000,
    "TCP transfer",
  );
});

Deno.test("nodeSocketStreams() allows a TLS half-close over TCP: the answer comes after the client's close_notify", async () => {
  await withTimeout(
    (async () => {
      const { client, server, sockets } = await connectOverTcp();
      try {
        await writeAll(client.writable, new TextEncoder().encode("GET /")); // close_notify, no FIN
        const request = await readAll(server.readable);
        assert.equal(request.text, "GET /");
        assert.equal(sockets.client.writableEnded, false, "no TCP FIN yet: the answer is still to come");
        const answer = seededBytes(500_000, 33);
        const [, got] = await Promise.all([writeAll(server.writable, answer), readAll(client.readable)]);
        assert.deepEqual(got.digest, digest(answer));
        await Promise.all([client.closed, server.closed]);
        assert.ok(
          sockets.client.writableEnded && sockets.server.writableEnded,
          "both sent their FIN at the end",
        );
      } finally {
        await sockets.close();
      }
    })(),
    30_000,
    "TCP half-close",
  );
});

Deno.test("nodeSocketStreams() reports a TCP FIN without close_notify as truncated", async () => {
  await withTimeout(
    (async () => {
      const { client, server, sockets } = await connectOverTcp();
      try {
        const writer = server.writable.getWriter();
        await writer.write(new TextEncoder().encode("cut short"));
        sockets.server.end(); // FIN behind the TLS stream's back
        const reader = client.readable.getReader();
        assert.equal(new TextDecoder().decode((await reader.read()).value), "cut short");
        await assert.rejects(reader.read(), (e) => e instanceof TlsError && e.code === "truncated");
        await assert.rejects(client.closed, (e) => e instanceof TlsError && e.code === "truncated");
      } finally {
        await sockets.close();
      }
    })(),
    30_000,
    "TCP truncation",
  );
});

Deno.test("connectTls() over TCP: TlsStream.close() on both sides at once", async () => {
  await withTimeout(
    (async () => {
      const { client, server, sockets } = await connectOverTcp();
      try {
        await Promise.all([client.close(), server.close()]);
        await Promise.all([client.closed, server.closed]);
      } finally {
        await sockets.close();
      }
    })(),
    30_000,
    "TCP close",
  );
});

Deno.test("nodeSocketStreams() pauses a socket nobody reads, so the peer's writes wait; an abort ends both", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const sockets = await tcpPair();
      try {
        const ac = new AbortController();
        const [ct, st] = await Promise.all([
          connectTls(client.engine, client.network, nodeSocketStreams(sockets.client), { signal: ac.signal }),
          connectTls(server.engine, server.network, nodeSocketStreams(sockets.server)),
        ]);
        const writing = writeAll(ct.writable, seededBytes(16 << 20, 1), { maxChunk: 1 << 20 });
        for (let i = 0; i < 30; i++) await sleep(10);
        assert.equal(await state(writing), "pending");
        // The server's socket stopped reading; what is in flight sits in the kernel's buffers.
        const read = sockets.server.bytesRead;
        assert.ok(read < 1 << 20, `the server read only ${read} bytes off the socket`);
        ac.abort(new Error("enough"));
        await assert.rejects(writing, (e) => e instanceof Error && e.message === "enough");
        await assert.rejects(ct.closed);
        assert.ok(sockets.client.destroyed, "the client's socket was destroyed");
        await assert.rejects(readAll(st.readable)); // the server sees the reset or a truncation
      } finally {
        await sockets.close();
      }
    })(),
    30_000,
    "TCP back-pressure",
  );
});

for (const via of ["its readable", "connectTls's port"] as const) {
  Deno.test(`nodeSocketStreams(): ${via} fails a read only after the bytes received before a socket error`, async () => {
    const sockets = await tcpPair();
    try {
      const transport = nodeSocketStreams(sockets.client);
      const port = via === "connectTls's port" ? directPorts.get(transport)!()! : undefined;
      const reader = port ?? transport.readable.getReader();
      // The peer's last bytes arrive, and in the same turn the socket fails, as when a write after the peer's
      // alert and reset meets EPIPE.
      sockets.client.once("data", () => sockets.client.destroy(new Error("write EPIPE")));
      const closed = new Promise((resolve) => sockets.client.once("close", resolve));
      sockets.server.write("the peer's alert");
      await withTimeout(closed, 5_000, "the socket's close"); // nothing read yet: the bytes wait
      const first = await withTimeout(reader.read(), 5_000, "first read");
      assert.equal(new TextDecoder().decode(first.value), "the peer's alert");
      await assert.rejects(reader.read(), /write EPIPE/);
      const write = port
        ? port.write(Uint8Array.of(1))
        : transport.writable.getWriter().write(Uint8Array.of(1));
      await assert.rejects(write, port ? /it is closed/ : /write EPIPE/);
    } finally {
      await sockets.close();
    }
  });
}

Deno.test("connectTls() drives a nodeSocketStreams() socket without web streams; they read as locked after", async () => {
  // Node's web streams cost a server about 5 kB of heap and some CPU time per connection: connectTls takes the
  // socket through its port instead, and makes no reader or writer of the transport's streams.
  const getReader = ReadableStream.prototype.getReader;
  const getWriter = WritableStream.prototype.getWriter;
  let calls = 0;
  ReadableStream.prototype.getReader = function (this: ReadableStream, options?: { mode?: "byob" }) {
    calls++;
    return getReader.call(this, options as { mode: "byob" });
  } as typeof getReader;
  WritableStream.prototype.getWriter = function (this: WritableStream) {
    calls++;
    return getWriter.call(this);
  } as typeof getWriter;
  let sockets: Awaited<ReturnType<typeof tcpPair>> | undefined;
  try {
    const { client, server } = await makeEndpoints();
    sockets = await tcpPair();
    const transports = [nodeSocketStreams(sockets.client), nodeSocketStreams(sockets.server)] as const;
    const [ct, st] = await withTimeout(
      Promise.all([
        connectTls(client.engine, client.network, transports[0], { handshakeTimeoutMs: 10_000 }),
        connectTls(server.engine, server.network, transports[1], { handshakeTimeoutMs: 10_000 }),
      ]),
      20_000,
      "handshake over TCP",
    );
    assert.equal(calls, 0, "no reader or writer was made on the transport's streams");
    // The socket is taken: a second connectTls on it is refused (its streams read as locked).
    const again = await makeEndpoints();
    await assert.rejects(
      connectTls(again.client.engine, again.client.network, transports[0]),
      (e) => e instanceof TypeError && /locked/.test(e.message),
      "a second connectTls on the same socket is refused",
    );
    const up = seededBytes(300_000, 5);
    const [, got] = await Promise.all([writeAll(ct.writable, up, { seed: 3 }), readAll(st.readable)]);
    assert.deepEqual(got.digest, digest(up));
    assert.ok(transports.every((t) => t.readable.locked && t.writable.locked), "the socket is taken");

    await withTimeout(Promise.all([st.close(), ct.close()]), 10_000, "close");
  } finally {
    ReadableStream.prototype.getReader = getReader;
    WritableStream.prototype.getWriter = getWriter;
    await sockets?.close();
  }
});

Deno.test("connectTls() uses nodeSocketStreams()'s streams once they were asked for", async () => {
  await withTimeout(
    (async () => {
      const { client, server } = await makeEndpoints();
      const sockets = await tcpPair();
      try {
        const transports = [nodeSocketStreams(sockets.client), nodeSocketStreams(sockets.server)] as const;
        const readable = transports[1].readable; // the server's: its streams now carry the bytes
        const [ct, st] = await Promise.all([
          connectTls(client.engine, client.network, transports[0]),
          connectTls(server.engine, server.network, transports[1]),
        ]);
        assert.ok(readable.locked, "connectTls read the stream it was shown");
        const down = seededBytes(200_000, 7);
        const [, got] = await Promise.all([writeAll(st.writable, down, { seed: 4 }), readAll(ct.readable)]);
        assert.deepEqual(got.digest, digest(down));
        await Promise.all([ct.close(), st.close()]);
      } finally {
        await sockets.close();
      }
    })(),
    30_000,
    "TCP through the streams",
  );
});

Deno.test("nodeSocketStreams()'s port: the peer's FIN ends reading after its bytes; close() sends ours", async () => {
  const sockets = await tcpPair();
  try {
    const port = directPorts.get(nodeSocketStreams(sockets.client))!()!;
    // Two reads waiting at once both see the bytes and the end, in order.
    const reads = [port.read(), port.read()];
    sockets.server.end("last words");
    const first = await withTimeout(reads[0]!, 5_000, "first read");
    assert.equal(new TextDecoder().decode(first.value), "last words");
    assert.equal((await withTimeout(reads[1]!, 5_000, "second read")).done, true);
    assert.equal((await port.read()).done, true);
    // Half-closed: our side still writes, then ends.
    const atServer = new Promise<string>((resolve) => {
      let text = "";
      sockets.server.on("data", (d: Uint8Array) => text += new TextDecoder().decode(d));
      sockets.server.on("end", () => resolve(text));
    });
    await port.write(new TextEncoder().encode("our answer"));
    await withTimeout(port.close(), 5_000, "close");
    assert.equal(await withTimeout(atServer, 5_000, "the server's end"), "our answer");
    await port.close(); // a second close: already finished
  } finally {
    await sockets.close();
  }
});

Deno.test("nodeSocketStreams(): a socket that failed before connectTls took it fails the handshake", async () => {
  const sockets = await tcpPair();
  try {
    const { client } = await makeEndpoints();
    const transport = nodeSocketStreams(sockets.client);
    sockets.client.destroy(new Error("connection reset"));
    await new Promise((resolve) => sockets.client.once("close", resolve));
    await assert.rejects(
      withTimeout(connectTls(client.engine, client.network, transport), 5_000, "handshake"),
      /connection reset|closed/,
    );
  } finally {
    await sockets.close();
  }
});
