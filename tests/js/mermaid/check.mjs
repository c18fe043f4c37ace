// Check Mermaid diagrams with Mermaid's own parser, in every Mermaid version installed here.
//
//   node check.mjs FILE...      each file is one diagram's text
//   node check.mjs < IN.json    a JSON array of {"name": ..., "text": ...}
//
// For each diagram and version it parses the text as mermaid.parse() does (what a renderer
// runs first; see check() below), then reads back what Mermaid understood: for a state
// diagram, its states, its transitions (from, to, label; "[*]" for the start and end markers)
// and each state's note. It prints one JSON report on stdout, and one line on stderr for each
// rejection:
//   check.mjs: NAME: mermaid VERSION rejects it: MESSAGE
// Exit status: 0 if every version accepts every diagram, 1 if one is rejected, 2 on bad input.
//
// Mermaid sanitises text with DOMPurify, which needs a DOM in Node.js: a jsdom window (the way
// DOMPurify documents for Node.js), set before Mermaid is imported. Nothing is rendered.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const VERSIONS = ["mermaid", "mermaid-12"]; // package names in package.json (mermaid-12 is an alias)

function fail(message) {
  process.stderr.write(`check.mjs: ${message}\n`);
  process.exit(2);
}

function readDiagrams(args) {
  if (args.length > 0) {
    return args.map((path) => {
      try {
        return { name: path, text: readFileSync(path, "utf8") };
      } catch (error) {
        return fail(`cannot read ${path}: ${error.message}`);
      }
    });
  }
  let diagrams;
  try {
    diagrams = JSON.parse(readFileSync(0, "utf8"));
  } catch (error) {
    return fail(`stdin must be a JSON array of {"name", "text"} (got invalid JSON: ${error.message})`);
  }
  const valid = Array.isArray(diagrams) && diagrams.every((d) => d && typeof d.name === "string" && typeof d.text === "string");
  if (!valid || diagrams.length === 0) {
    fail('stdin must be a non-empty JSON array of {"name": string, "text": string}; or pass diagram files as arguments');
  }
  return diagrams;
}

function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

// What Mermaid read from a state diagram: its transitions and notes, from the diagram's own db.
function stateDiagramContents(db) {
  const transitions = [];
  const markers = new Set();
  const walk = (doc) => {
    for (const stmt of doc ?? []) {
      if (stmt.stmt === "relation") {
        const end = (state) => {
          if (state.start !== undefined) markers.add(state.id);
          return state.start !== undefined ? "[*]" : state.id;
        };
        transitions.push([end(stmt.state1), end(stmt.state2), stmt.description ?? ""]);
      } else if (stmt.doc) {
        walk(stmt.doc);
      }
    }
  };
  walk(db.getRootDocV2().doc);
  const notes = {};
  const states = [];
  for (const [id, state] of db.getStates()) {
    if (markers.has(id)) continue;
    states.push(id);
    if (state.note) notes[id] = state.note.text;
  }
  return { states, transitions, notes };
}

// mermaid.parse(text) resets the configuration to the text's own (its front matter and
// directives), then parses the text with mermaidAPI.getDiagramFromText, which also gives the
// diagram and its db, and returns only the diagram's type. So the checker does the same: the
// reset once (by a first mermaid.parse: these diagrams carry no configuration of their own),
// and getDiagramFromText for each diagram, so that each text is parsed once (a state diagram
// takes about 2 ms a line).
async function check(mermaid, version, diagram) {
  const result = { name: diagram.name, mermaid: version, ok: false };
  try {
    if (/^\s*---|%%\{/.test(diagram.text)) {
      throw new Error("the checker does not isolate a diagram's own configuration (front matter or %%{init}%%): remove it");
    }
    const parsed = await mermaid.mermaidAPI.getDiagramFromText(diagram.text);
    result.type = parsed.type;
    if (result.type.startsWith("stateDiagram")) Object.assign(result, stateDiagramContents(parsed.db));
    result.ok = true;
  } catch (error) {
    result.error = String(error?.message ?? error);
  }
  return result;
}

const diagrams = readDiagrams(process.argv.slice(2));
globalThis.window = new JSDOM("").window;
const results = [];
const versions = {};
for (const name of VERSIONS) {
  const { default: mermaid } = await import(name);
  await mermaid.parse("stateDiagram-v2\n    [*] --> ready\n"); // registers the diagram types, resets the configuration
  const version = packageVersion(name);
  versions[name] = version;
  for (const diagram of diagrams) {
    const result = await check(mermaid, version, diagram);
    results.push(result);
    if (!result.ok) {
      const message = result.error.split("\n").join(" | ");
      process.stderr.write(`check.mjs: ${diagram.name}: mermaid ${version} rejects it: ${message}\n`);
    }
  }
}
// No process.exit() here: a large report to a pipe is written asynchronously, and Node.js
// ends once everything is written.
process.stdout.write(JSON.stringify({ versions, results }) + "\n");
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
