import assert from "node:assert/strict";
import { type GeneralName, type NameConstraints, parseName } from "./_cert.ts";
import { BudgetExceeded, checkNameConstraints } from "./_constraints.ts";
import { DerReader } from "../suites/der.ts";
import { name } from "../testing/pki.ts";

const dns = (value: string): GeneralName => ({ type: "dns", value });
const email = (value: string): GeneralName => ({ type: "email", value });
const dn = (text: string): GeneralName => ({
  type: "dn",
  value: parseName(new DerReader(name(text)).read()),
});
function ip(text: string): GeneralName {
  const [address, prefix] = text.split("/") as [string, string | undefined];
  const bytes = address.includes(":")
    ? new Uint8Array(16).map((
      _,
      i,
    ) => (i === 15 && address === "::1" ? 1 : i === 0 ? 0x20 : i === 1 ? 0x01 : 0))
    : new Uint8Array(address.split(".").map(Number));
  if (prefix === undefined) return { type: "ip", value: bytes };
  const mask = new Uint8Array(bytes.length);
  for (let i = 0; i < Number(prefix); i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return { type: "ip", value: new Uint8Array([...bytes, ...mask]) };
}

function budget() {
  return { signatures: 100, visits: 100, comparisons: 1000 };
}

/** [permitted verdict, excluded verdict]: "ok" or the violation text. */
function verdicts(n: GeneralName, c: GeneralName): [string, string] {
  const permitted: NameConstraints = { permitted: [c], excluded: undefined };
  const excluded: NameConstraints = { permitted: undefined, excluded: [c] };
  return [
    checkNameConstraints(permitted, [n], budget()) ?? "ok",
    checkNameConstraints(excluded, [n], budget()) ?? "ok",
  ];
}

Deno.test("checkNameConstraints() matches dNSName subtrees, wildcards defensively", () => {
  // [name, constraint, inside permitted?, hits excluded?]
  const table: [string, string, boolean, boolean][] = [
    ["www.example.com", "example.com", true, true],
    ["example.com", "example.com", true, true],
    ["WWW.Example.COM", "example.com", true, true],
    ["badexample.com", "example.com", false, false],
    ["example.com", "www.example.com", false, false],
    ["www.example.com", ".example.com", true, true],
    ["example.com", ".example.com", false, false],
    ["anything.test", "", true, true],
    ["*.example.com", "example.com", true, true],
    ["*.example.com", ".example.com", true, true],
    ["*.example.com", "www.example.com", false, true], // some names it stands for are excluded
    ["*.example.com", "a.b.example.com", false, false], // it cannot stand for two labels
    ["*.a.example.com", "example.com", true, true],
  ];
  for (const [n, c, inside, hit] of table) {
    const [p, e] = verdicts(dns(n), dns(c));
    assert.equal(p === "ok", inside, `${n} in permitted ${c}: ${p}`);
    assert.equal(e !== "ok", hit, `${n} in excluded ${c}: ${e}`);
  }
  for (
    const [n, c] of [[".example.com", "example.com"], ["www.example.com", "*.example.com"], ["a", "b..c"]]
  ) {
    const [p, e] = verdicts(dns(n!), dns(c!));
    assert.match(p, /malformed/);
    assert.match(e, /malformed/);
  }
});

Deno.test("checkNameConstraints() matches iPAddress ranges of the same family", () => {
  assert.deepEqual(verdicts(ip("192.0.2.5"), ip("192.0.2.0/24")).map((v) => v === "ok"), [true, false]);
  assert.deepEqual(verdicts(ip("192.0.3.5"), ip("192.0.2.0/24")).map((v) => v === "ok"), [false, true]);
  assert.deepEqual(verdicts(ip("::1"), ip("::1/128")).map((v) => v === "ok"), [true, false]);
  assert.deepEqual(verdicts(ip("2001::"), ip("2001::/16")).map((v) => v === "ok"), [true, false]);
  // An IPv4 address is outside every IPv6 range.
  assert.deepEqual(verdicts(ip("192.0.2.5"), ip("::1/0")).map((v) => v === "ok"), [false, true]);
  const holey: GeneralName = { type: "ip", value: new Uint8Array([192, 0, 2, 0, 255, 0, 255, 0]) };
  assert.match(verdicts(ip("192.0.2.5"), holey)[0], /contiguous mask/);
  assert.match(verdicts({ type: "ip", value: new Uint8Array(5) }, ip("192.0.2.0/24"))[1], /malformed/);
});

Deno.test("checkNameConstraints() matches rfc822Name mailboxes, hosts and domains literally", () => {
  const table: [string, string, boolean][] = [
    ["foo@example.com", "foo@example.com", true],
    ["foo@EXAMPLE.com", "foo@example.com", true],
    ["Foo@example.com", "foo@example.com", false], // the local part is case-sensitive
    ["foo@example.com", "example.com", true],
    ["foo@sub.example.com", "example.com", false],
    ["foo@sub.example.com", ".example.com", true],
    ["foo@example.com", ".example.com", false],
    ["*@example.com", "*@example.com", true],
    ["user@example.com", "*@example.com", false],
  ];
  for (const [n, c, inside] of table) {
    assert.equal(verdicts(email(n), email(c))[0] === "ok", inside, `${n} vs ${c}`);
  }
  assert.match(verdicts(email("a@b@example.com"), email("example.com"))[0], /malformed/);
  assert.match(verdicts(email("a@example.com"), email("a@b@example.com"))[0], /malformed/);
});

Deno.test("checkNameConstraints() matches directoryName prefixes after normalising values", () => {
  assert.deepEqual(verdicts(dn("C=US, O=Acme, CN=x"), dn("C=US, O=Acme")).map((v) => v === "ok"), [
    true,
    false,
  ]);
  assert.deepEqual(verdicts(dn("C=US, O=Acme, CN=x"), dn("C=US, O=  ACME ")).map((v) => v === "ok"), [
    true,
    false,
  ]);
  assert.deepEqual(verdicts(dn("C=US, O=Other, CN=x"), dn("C=US, O=Acme")).map((v) => v === "ok"), [
    false,
    true,
  ]);
  assert.deepEqual(verdicts(dn("C=US"), dn("C=US, O=Acme")).map((v) => v === "ok"), [false, true]);
  assert.deepEqual(verdicts(dn("CN=x"), dn("")).map((v) => v === "ok"), [true, false]);
});

Deno.test("checkNameConstraints() rejects names of forms it cannot evaluate, and only those", () => {
  const uri: GeneralName = { type: "uri", value: "https://example.com/" };
  assert.match(verdicts(uri, { type: "uri", value: "example.com" })[0], /cannot be checked/);
  assert.match(verdicts(uri, { type: "uri", value: "example.com" })[1], /cannot be checked/);
  const other: GeneralName = { type: "other", form: "otherName" };
  assert.match(verdicts(other, { type: "other", form: "otherName" })[1], /cannot be checked/);
  assert.deepEqual(verdicts(other, { type: "other", form: "registeredID" }), ["ok", "ok"]);
  // Constraints on one form leave names of other forms alone.
  assert.deepEqual(verdicts(uri, dns("example.com")), ["ok", "ok"]);
  assert.deepEqual(verdicts(dns("www.example.com"), ip("192.0.2.0/24")), ["ok", "ok"]);
});

Deno.test("checkNameConstraints() stops when its comparison budget runs out", () => {
  const nc: NameConstraints = { permitted: [dns("a.test"), dns("b.test")], excluded: [dns("c.test")] };
  const small = { signatures: 0, visits: 0, comparisons: 2 };
  assert.throws(() => checkNameConstraints(nc, [dns("x.test"), dns("y.test")], small), BudgetExceeded);
});
