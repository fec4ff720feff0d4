// Write docs/api.md, the API reference, from the JSDoc of the package's entry points (deno.json "exports"),
// as `deno doc --json` reads it: one section per entry point, each exported symbol with its kind, its
// signature and its summary, and the members of classes and interfaces in a line each. `--check` writes
// nothing and exits 1 when docs/api.md is not what this would write (tests/package_test.ts runs it).
//
//   node scripts/api_docs.mjs           (npm run docs)
//   node scripts/api_docs.mjs --check
//
// The output depends on the source only: symbols in the order the entry point exports them, file paths
// relative to the repository, no dates; it goes through `deno fmt` so that formatting docs/ leaves it alone.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = "docs/api.md";
const LOCAL_DENO = join(ROOT, "node_modules", ".bin", "deno");
const DENO = existsSync(LOCAL_DENO) ? LOCAL_DENO : "deno";
const ROOT_URL = pathToFileURL(ROOT).href.replace(/\/?$/, "/");

/** Run deno with `args` (and `input` on stdin); its stdout, or exit 2 with what it said. */
function deno(args, input) {
  const r = spawnSync(DENO, args, {
    cwd: ROOT,
    input,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0) {
    console.error(`api_docs: deno ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`})`);
    console.error(r.stderr);
    process.exit(2);
  }
  return r.stdout;
}

// ---- types and signatures ------------------------------------------------------------------------------------

/** A type as TypeScript writes it, from deno doc's JSON (format version 2). */
function type(t) {
  if (!t) return "unknown";
  const v = t.value;
  switch (t.kind) {
    case "keyword":
      return v;
    case "literal":
      return literal(v, t.repr);
    case "typeRef":
      return v.typeName + typeArgs(v.typeParams);
    case "union":
      return v.map((x) => wrap(x, ["fnOrConstructor", "conditional"])).join(" | ");
    case "intersection":
      return v.map((x) => wrap(x, ["fnOrConstructor", "conditional", "union"])).join(" & ");
    case "array":
      return `${wrap(v, ["fnOrConstructor", "conditional", "union", "intersection", "typeOperator"])}[]`;
    case "tuple":
      return `[${v.map(type).join(", ")}]`;
    case "typeOperator":
      return `${v.operator} ${type(v.tsType)}`;
    case "parenthesized":
      return `(${type(v)})`;
    case "typeQuery":
      return `typeof ${v}`;
    case "indexedAccess":
      return `${type(v.objType)}[${type(v.indexType)}]`;
    case "fnOrConstructor":
      return `${v.constructor ? "new " : ""}${typeParams(v.typeParams)}(${params(v.params)}) => ${
        type(v.tsType)
      }`;
    case "typeLiteral":
      return typeLiteral(v);
    case "optional":
      return `${type(v)}?`;
    case "rest":
      return `...${type(v)}`;
    case "this":
      return "this";
    case "typePredicate":
      return `${v.asserts ? "asserts " : ""}${v.param.name ?? "this"}${v.type ? ` is ${type(v.type)}` : ""}`;
    case "conditional":
      return `${type(v.checkType)} extends ${type(v.extendsType)} ? ${type(v.trueType)} : ${
        type(v.falseType)
      }`;
    case "infer":
      return `infer ${v.typeParam.name}`;
    case "importType":
      return `import("${v.specifier}")${v.qualifier ? `.${v.qualifier}` : ""}${typeArgs(v.typeParams)}`;
    case "mapped":
      return `{ ${v.readonly ? "readonly " : ""}[${v.typeParam.name} in ${type(v.typeParam.constraint)}]${
        v.optional ? "?" : ""
      }: ${type(v.tsType)} }`;
    default:
      if (t.repr) return t.repr;
      throw new Error(
        `api_docs: cannot print a type of kind "${t.kind}": teach type() in scripts/api_docs.mjs about it`,
      );
  }
}

function wrap(t, kinds) {
  return kinds.includes(t.kind) ? `(${type(t)})` : type(t);
}

function literal(v, repr) {
  switch (v.kind) {
    case "string":
      return JSON.stringify(v.string);
    case "number":
      return String(v.number);
    case "boolean":
      return String(v.boolean);
    case "bigInt":
      return `${v.bigInt}n`;
    case "template":
      return `\`${repr}\``;
    default:
      return repr;
  }
}

function typeArgs(args) {
  return args?.length ? `<${args.map(type).join(", ")}>` : "";
}

function typeParams(ps) {
  if (!ps?.length) return "";
  return `<${
    ps.map((p) =>
      `${p.name}${p.constraint ? ` extends ${type(p.constraint)}` : ""}${
        p.default ? ` = ${type(p.default)}` : ""
      }`
    ).join(", ")
  }>`;
}

function param(p) {
  const ann = p.tsType ? `: ${type(p.tsType)}` : "";
  switch (p.kind) {
    case "identifier":
      return `${p.name}${p.optional ? "?" : ""}${ann}`;
    case "rest":
      return `...${param(p.arg)}${ann}`;
    case "assign": // a default value makes the parameter optional to the caller, as in a .d.ts
      return param({ ...p.left, optional: true });
    case "object":
      return `{ ${p.props.map((x) => x.key ?? x.name ?? "…").join(", ")} }${p.optional ? "?" : ""}${ann}`;
    case "array":
      return `[…]${p.optional ? "?" : ""}${ann}`;
    default:
      throw new Error(`api_docs: cannot print a parameter of kind "${p.kind}"`);
  }
}

function params(ps) {
  return (ps ?? []).map(param).join(", ");
}

function typeLiteral(v) {
  const parts = [
    ...(v.properties ?? []).map(propertySig),
    ...(v.methods ?? []).map(methodSig),
    ...(v.callSignatures ?? []).map((c) =>
      `${typeParams(c.typeParams)}(${params(c.params)}): ${type(c.tsType)}`
    ),
    ...(v.indexSignatures ?? []).map(indexSig),
  ];
  return parts.length ? `{ ${parts.join("; ")} }` : "{}";
}

function propertySig(p) {
  const mods = `${p.isStatic ? "static " : ""}${p.readonly ? "readonly " : ""}`;
  return `${mods}${p.computed ? `[${p.name}]` : p.name}${p.optional ? "?" : ""}: ${type(p.tsType)}`;
}

/** A method of an interface or type literal (params at the top) or of a class (under functionDef). */
function methodSig(m) {
  const f = m.functionDef ?? m;
  const ret = f.returnType ? `: ${type(f.returnType)}` : "";
  const name = `${m.isStatic ? "static " : ""}${m.name}${m.optional ? "?" : ""}`;
  if (m.kind === "getter") return `get ${name}()${ret}`;
  if (m.kind === "setter") return `set ${name}(${params(f.params)})`;
  return `${f.isAsync ? "async " : ""}${name}${typeParams(f.typeParams)}(${params(f.params)})${ret}`;
}

function indexSig(s) {
  return `${s.readonly ? "readonly " : ""}[${params(s.params)}]: ${type(s.tsType)}`;
}

/** The declaration's first line, as deno doc prints it. */
function signature(name, decl) {
  const d = decl.def;
  switch (decl.kind) {
    case "function":
      return `${d.isAsync ? "async " : ""}function ${name}${typeParams(d.typeParams)}(${params(d.params)})${
        d.returnType ? `: ${type(d.returnType)}` : ""
      }`;
    case "class": {
      const ext = d.extends ? ` extends ${d.extends}${typeArgs(d.superTypeParams)}` : "";
      const impl = d.implements?.length ? ` implements ${d.implements.map(type).join(", ")}` : "";
      return `${d.isAbstract ? "abstract " : ""}class ${name}${typeParams(d.typeParams)}${ext}${impl}`;
    }
    case "interface": {
      const ext = d.extends?.length ? ` extends ${d.extends.map(type).join(", ")}` : "";
      return `interface ${name}${typeParams(d.typeParams)}${ext}`;
    }
    case "typeAlias":
      return `type ${name}${typeParams(d.typeParams)} = ${type(d.tsType)}`;
    case "variable": {
      const t = d.tsType?.kind === "typeLiteral" ? "{ … }" : type(d.tsType);
      return `${d.kind ?? "const"} ${name}: ${t}`;
    }
    case "enum":
      return `enum ${name}`;
    case "namespace":
      return `namespace ${name}`;
    default:
      throw new Error(`api_docs: cannot print a declaration of kind "${decl.kind}" (${name})`);
  }
}

// ---- doc text ------------------------------------------------------------------------------------------------

/** `{@link target label}` and its kin as plain code or text. */
function links(text) {
  return text.replace(
    /\{@link(?:code|plain)?\s+([^\s|}]+)(?:\s*\|\s*|\s+)?([^}]*)\}/g,
    (_, target, label) => label.trim() ? label.trim() : `\`${target}\``,
  );
}

/** The description without its examples, as markdown. */
function description(jsDoc) {
  return links(jsDoc?.doc ?? "").trim();
}

/** The first paragraph of a description, on one line; a code block is left out. */
function summary(jsDoc) {
  const first = description(jsDoc).split(/\n\s*\n/)[0] ?? "";
  return first.split("```")[0].replace(/\s*\n\s*/g, " ").trim();
}

function tags(jsDoc, kind) {
  return (jsDoc?.tags ?? []).filter((t) => t.kind === kind);
}

function hidden(member) {
  return member.accessibility === "private" || member.name?.startsWith("#") ||
    tags(member.jsDoc, "internal").length > 0 || tags(member.jsDoc, "ignore").length > 0;
}

// ---- the page ------------------------------------------------------------------------------------------------

function memberLines(decl) {
  const d = decl.def;
  const lines = [];
  const add = (sig, m) => {
    const s = summary(m.jsDoc);
    lines.push(`- \`${sig}\`${s ? `: ${s}` : ""}`);
  };
  if (decl.kind === "class") {
    for (const c of d.constructors ?? []) if (!hidden(c)) add(`new ${"(" + params(c.params) + ")"}`, c);
  }
  const typeLit = decl.kind === "variable" && d.tsType?.kind === "typeLiteral" ? d.tsType.value : undefined;
  const src = typeLit ?? d;
  const props = (src.properties ?? []).filter((m) => !hidden(m));
  if (typeLit && props.every((p) => !p.jsDoc?.doc)) {
    // A table of constants with no doc of their own (an error group's codes): their names on one line.
    if (props.length) lines.push(`Members: ${props.map((p) => `\`${p.name}\``).join(", ")}.`);
  } else {
    for (const p of props) add(propertySig(p), p);
  }
  for (const c of src.callSignatures ?? []) {
    if (!hidden(c)) add(`${typeParams(c.typeParams)}(${params(c.params)}): ${type(c.tsType)}`, c);
  }
  for (const s of src.indexSignatures ?? []) if (!hidden(s)) add(indexSig(s), s);
  for (const m of src.methods ?? []) if (!hidden(m)) add(methodSig(m), m);
  return lines;
}

function symbolSection(name, decl, entryOf) {
  const out = [`### \`${name}\``, ""];
  if (decl.kind === "reference") {
    const target = decl.def.target;
    const from = entryOf(target.filename, target.line, name);
    out.push(from ? `Re-exported from [\`${from.specifier}\`](#${from.anchor}).` : "Re-exported.", "");
    return out;
  }
  const file = decl.location.filename.replace(ROOT_URL, "");
  out.push(`${decl.kind === "typeAlias" ? "type" : decl.kind}, in \`${file}\``, "");
  out.push("```ts", signature(name, decl), "```", "");
  const desc = description(decl.jsDoc);
  if (desc) out.push(desc, "");
  for (const t of tags(decl.jsDoc, "deprecated")) {
    out.push(`**Deprecated.** ${links(t.doc ?? "")}`.trim(), "");
  }
  for (const t of tags(decl.jsDoc, "throws")) {
    const what = links(t.doc ?? "").replace(/\s+/g, " ").trim();
    out.push(`Throws${t.tsType ? ` \`${type(t.tsType)}\`` : ""}${what ? `: ${what}` : "."}`, "");
  }
  const members = memberLines(decl);
  if (members.length) out.push(...members, "");
  return out;
}

function anchor(text) {
  // GitHub's rule: lower case, drop what is not a letter, digit, space or hyphen, spaces to hyphens.
  return text.toLowerCase().replace(/[^a-z0-9 _-]/g, "").replace(/ /g, "-");
}

function render(doc, entries) {
  const sections = entries.map(({ specifier, path }) => {
    const node = doc.nodes[new URL(path, ROOT_URL).href];
    if (!node) throw new Error(`api_docs: deno doc said nothing of ${path}`);
    return { specifier, path, node, heading: `\`${specifier}\` (${path})` };
  });
  for (const s of sections) s.anchor = anchor(s.heading);
  /** Which entry point documents the declaration at file:line (for a re-export). */
  const entryOf = (filename, line, name) =>
    sections.find((s) =>
      s.node.symbols.some((sym) =>
        sym.name === name &&
        sym.declarations.some((d) =>
          d.kind !== "reference" && d.location.filename === filename && d.location.line === line
        )
      )
    );
  const out = [
    "# API reference",
    "",
    "Generated from the JSDoc by `npm run docs` (`scripts/api_docs.mjs`, over `deno doc --json`); do not edit it",
    "by hand: `tests/package_test.ts` fails when it is stale. Examples are in the source and run under",
    "`deno test --doc`; `deno doc <entry point>` prints the same with every parameter. How the pieces fit:",
    "[guide.md](guide.md) and the [README](../README.md).",
    "",
    ...sections.map((s) => `- [${s.heading}](#${s.anchor}): ${s.node.symbols.length} exports`),
    "",
  ];
  for (const s of sections) {
    out.push(`## ${s.heading}`, "");
    const moduleDoc = description(s.node.module_doc);
    if (moduleDoc) out.push(moduleDoc, "");
    for (const sym of s.node.symbols) {
      for (const decl of sym.declarations) out.push(...symbolSection(sym.name, decl, entryOf));
    }
  }
  return out.join("\n");
}

function main() {
  const check = process.argv.includes("--check");
  const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const entries = Object.entries(config.exports).map(([key, path]) => ({
    specifier: key === "." ? config.name : `${config.name}/${key.replace(/^\.\//, "")}`,
    path: path.replace(/^\.\//, ""),
  }));
  const doc = JSON.parse(deno(["doc", "--json", ...entries.map((e) => e.path)]));
  if (doc.version !== 2) throw new Error(`api_docs: deno doc --json format ${doc.version}, expected 2`);
  const text = deno(["fmt", "--ext", "md", "-"], render(doc, entries));
  const path = join(ROOT, OUT);
  if (check) {
    const now = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (now !== text) {
      const a = now.split("\n"), b = text.split("\n");
      let line = 0;
      while (line < a.length && a[line] === b[line]) line++;
      console.error(
        `${OUT} is stale (from line ${
          line + 1
        }): the JSDoc of the exported API changed since it was written.` +
          " Run `npm run docs` and commit docs/api.md.",
      );
      process.exit(1);
    }
    console.log(`${OUT} is up to date`);
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${OUT}`);
  }
}

main();
