import assert from "node:assert/strict";
import {
  dnsNameMatches,
  isValidDnsName,
  matchesPeerName,
  normalizeHostName,
  parseIpAddress,
  parsePeerName,
} from "./names.ts";
import { issue, testKey, tlv } from "../testing/pki.ts";

Deno.test("dnsNameMatches() follows RFC 9525 with leftmost-label wildcards only", () => {
  const table: [presented: string, reference: string, expected: boolean][] = [
    ["example.com", "example.com", true],
    ["EXAMPLE.Com", "example.com", true],
    ["example.com", "www.example.com", false],
    ["www.example.com", "example.com", false],
    ["*.example.com", "www.example.com", true],
    ["*.Example.COM", "www.example.com", true],
    ["*.example.com", "example.com", false], // the wildcard stands for one label, never none
    ["*.example.com", "a.b.example.com", false], // nor two
    ["*.example.com", "www.example.org", false],
    ["*.xn--bcher-kva.example", "www.xn--bcher-kva.example", true],
    ["*.co.uk", "example.co.uk", true], // no public suffix list
    ["*.com", "example.com", false], // two labels must follow the wildcard
    ["*", "com", false],
    ["*.", "com", false],
    ["w*.example.com", "www.example.com", false], // partial-label wildcards are not accepted
    ["*w.example.com", "www.example.com", false],
    ["w*w.example.com", "www.example.com", false],
    ["www.*.example.com", "www.a.example.com", false],
    ["*.*.example.com", "a.b.example.com", false],
    ["xn--*-9qae5a.com.br", "xn--poema-9qae5a.com.br", false],
    ["example.com.", "example.com", false], // absolute presented names are not accepted
    ["exa mple.com", "exa mple.com", false],
    ["192.0.2.1", "192.0.2.1", false], // invalid as a DNS name: the last label is numeric
    ["foo_bar.example.com", "foo_bar.example.com", true],
  ];
  for (const [presented, reference, expected] of table) {
    assert.equal(dnsNameMatches(presented, reference), expected, `${presented} vs ${reference}`);
  }
});

Deno.test("isValidDnsName() accepts preferred name syntax with underscores", () => {
  for (const name of ["a", "example.com", "a-b.c", "x1.y2", "_srv.example", "a".repeat(63) + ".com"]) {
    assert.equal(isValidDnsName(name, false), true, name);
  }
  for (
    const name of [
      "",
      ".",
      "a..b",
      ".a",
      "a.",
      "-a.com",
      "a-.com",
      "a.123",
      "a b.com",
      "a".repeat(64) + ".com",
      "é.com",
    ]
  ) {
    assert.equal(isValidDnsName(name, false), false, name);
  }
  assert.equal(isValidDnsName("example.com.", true), true);
  assert.equal(isValidDnsName(`${"a".repeat(63)}.`.repeat(4).slice(0, 254), true), false);
});

Deno.test("normalizeHostName() maps names to A-labels as UTS #46 says, the same on every runtime", () => {
  const table: [string, string][] = [
    ["Example.COM", "example.com"],
    ["example.com.", "example.com"],
    ["Bücher.example", "xn--bcher-kva.example"],
    ["bu\u0308cher.example", "xn--bcher-kva.example"], // NFC first
    ["münchen。de", "xn--mnchen-3ya.de"], // an ideographic full stop separates labels
    ["ＥＸＡＭＰＬＥ．ｃｏｍ", "example.com"], // fullwidth forms map to ASCII
    ["faß.de", "xn--fa-hia.de"], // nontransitional: ß stays
    ["ΣΑΣ.example", "xn--mxa9ab.example"], // σ, never a final ς
    ["Ⅸ.example", "ix.example"],
    ["soft\u00adhyphen.example", "softhyphen.example"], // ignored
    ["XN--BCHER-KVA.example", "xn--bcher-kva.example"],
    ["test-測試.com", "xn--test--gs1lv54n.com"],
    ["3年B組金八先生.example", "xn--3b-ww4c5e180e575a65lsy2b.example"], // RFC 3492 §7.1 (L), lower-cased
    ["ليهمابتكلموشعربي؟.example", "xn--egbpdaj6bu4bxfgehfvwxn.example"], // RFC 3492 §7.1 (A)
    ["☃.example", "xn--n3h.example"],
    ["foo_bar.example", "foo_bar.example"],
    ["x", "x"],
  ];
  for (const [name, expected] of table) {
    assert.deepEqual(normalizeHostName(name), { kind: "dns", name: expected }, name);
  }
});

Deno.test("normalizeHostName() tells IP literals, brackets included, from names", () => {
  assert.deepEqual(normalizeHostName("192.0.2.1"), {
    kind: "ip",
    name: "192.0.2.1",
    address: new Uint8Array([192, 0, 2, 1]),
  });
  assert.deepEqual(normalizeHostName("[2001:db8::1]"), normalizeHostName("2001:db8::1"));
  assert.equal(normalizeHostName("[::1]").name, "::1");
  assert.throws(() => normalizeHostName("[192.0.2.1]"), TypeError);
});

Deno.test("normalizeHostName() refuses what no host name may be, saying why", () => {
  const table: [string, typeof TypeError, RegExp][] = [
    ["", TypeError, /it is empty/],
    ["exa mple.com", TypeError, /the character " " is not allowed/],
    ["exa%41mple.com", TypeError, /"%"/], // never percent-decoded
    ["a/b.example", TypeError, /"\/"/], // never cut at a path
    ["user@example.com", TypeError, /"@"/],
    ["example.com:443", TypeError, /":"/],
    ["*.example.com", TypeError, /"\*"/],
    ["a\u00a0b.example", TypeError, /UTS #46/], // a no-break space maps to a space
    ["a\u200db.example", TypeError, /UTS #46/], // a joiner between Latin letters
    ["\u0301a.example", TypeError, /UTS #46/], // a leading combining mark
    ["xn--a.example", TypeError, /UTS #46/], // not punycode
    ["a！b.example", TypeError, /label "a!b"/],
    ["-a.example", TypeError, /label "-a"/],
    ["a..b", TypeError, /empty label/],
    ["example.com..", TypeError, /empty label/],
    ["1.2.3.256", TypeError, /all digits/],
    ["１２７.０.０.１", TypeError, /all digits/],
    [`${"a".repeat(64)}.com`, RangeError, /is 64 octets long, more than 63/],
    [`${"ü".repeat(60)}.example`, RangeError, /more than 63/], // counted in A-label form
    [`${"a".repeat(63)}.`.repeat(4).slice(0, 254), RangeError, /254 octets long, more than 253/],
  ];
  for (const [name, type, message] of table) {
    assert.throws(() => normalizeHostName(name, "serverName"), (e: unknown) => {
      assert.ok(e instanceof type, `${name}: ${e}`);
      assert.match((e as Error).message, /^Cannot use serverName "/);
      assert.match((e as Error).message, message);
      return true;
    });
  }
});

Deno.test("parseIpAddress() reads dotted-decimal IPv4 and RFC 4291 IPv6", () => {
  const v6 = (...words: number[]) => new Uint8Array(words.flatMap((w) => [w >> 8, w & 0xff]));
  const table: [string, Uint8Array | undefined][] = [
    ["127.0.0.1", new Uint8Array([127, 0, 0, 1])],
    ["0.0.0.0", new Uint8Array(4)],
    ["255.255.255.255", new Uint8Array([255, 255, 255, 255])],
    ["256.0.0.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
    ["0x7f.0.0.1", undefined],
    ["::", new Uint8Array(16)],
    ["::1", v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ["2001:db8::1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:DB8:0:0:0:0:0:1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["2001:0db8::0001", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ["1::2:3:4:5:6:7", v6(1, 0, 2, 3, 4, 5, 6, 7)],
    ["::ffff:192.0.2.1", v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7::8", undefined],
    ["12345::", undefined],
    ["::1%eth0", undefined],
    ["[::1]", undefined],
  ];
  for (const [text, expected] of table) assert.deepEqual(parseIpAddress(text), expected, text);
});

Deno.test("parsePeerName() tells IP addresses from DNS names and rejects invalid names", () => {
  assert.deepEqual(parsePeerName("EXAMPLE.com."), { kind: "dns", name: "example.com" });
  assert.deepEqual(parsePeerName("test-測試.com"), { kind: "dns", name: "xn--test--gs1lv54n.com" });
  assert.deepEqual(parsePeerName("192.0.2.1"), { kind: "ip", address: new Uint8Array([192, 0, 2, 1]) });
  for (const bad of ["", ".", "*.example.com", "a..b", "1.2.3.256", "01.2.3.4", "exa mple.com", "::1%eth0"]) {
    assert.throws(() => parsePeerName(bad), TypeError, bad);
  }
});

Deno.test("matchesPeerName() uses only subjectAltName dNSName and iPAddress entries", async () => {
  const raw = (bytes: number[]) => tlv(0x82, new Uint8Array(bytes));
  const cert = await issue({
    subject: "CN=cn-only.example",
    key: await testKey("p256", 1),
    san: [
      { dns: "*.example.com" },
      { dns: "example.org" },
      { dns: "192.0.2.8" }, // an IP address as a dNSName never matches
      { ip: "192.0.2.7" },
      { ip: "2001:db8::1" },
      { email: "admin@mail.example" },
    ],
    extensions: [],
  });
  const yes = ["www.example.com", "EXAMPLE.ORG", "example.org.", "192.0.2.7", "2001:0db8:0:0::1"];
  const no = ["example.com", "cn-only.example", "192.0.2.8", "mail.example", "::1", "192.0.2.70"];
  for (const name of yes) assert.equal(matchesPeerName(cert.der, name), true, name);
  for (const name of no) assert.equal(matchesPeerName(cert.der, name), false, name);

  // A SAN holding raw UTF-8 is not an A-label and never matches, in either form of the name.
  const unicode = await issue({
    subject: "CN=x",
    key: await testKey("p256", 1),
    extensions: [{
      oid: "2.5.29.17",
      value: tlv(0x30, raw([...new TextEncoder().encode("😜.example.com")])),
    }],
  });
  assert.equal(matchesPeerName(unicode.der, "xn--628h.example.com"), false);
  assert.equal(matchesPeerName(unicode.der, "😜.example.com"), false);

  assert.throws(() => matchesPeerName(new Uint8Array([0x30, 0]), "example.com"), TypeError);
  assert.throws(() => matchesPeerName(cert.der, "*.example.com"), TypeError);
});
