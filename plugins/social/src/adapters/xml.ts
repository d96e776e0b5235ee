// A small, namespace-aware XML reader for feeds (RSS 2.0, Atom, YouTube's Atom). It
// builds a tree of elements and text and refuses documents that are not well-formed in
// ways that lose structure (unclosed or mismatched tags, broken markup, a truncated
// body), so a cut-off answer fails the run instead of yielding half a feed. It reads no
// DTD and expands no declared entities: feeds do not need them, and skipping them rules
// out entity-expansion attacks.
import { decodeEntities, XML_ENTITIES } from "./entities.js";

export interface XmlElement {
  /** The name as written, e.g. "media:group". */
  name: string;
  /** The name without its prefix, e.g. "group". */
  local: string;
  /** The namespace URI, "" for none. */
  ns: string;
  /** Attributes by the name as written (e.g. "rel", "xml:base"), values decoded. */
  attrs: Record<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

export const NS = {
  atom: "http://www.w3.org/2005/Atom",
  media: "http://search.yahoo.com/mrss/",
  yt: "http://www.youtube.com/xml/schemas/2015",
  dc: "http://purl.org/dc/elements/1.1/",
  content: "http://purl.org/rss/1.0/modules/content/",
  xml: "http://www.w3.org/XML/1998/namespace",
} as const;

// Some feeds use these prefixes without declaring them; reading them as their usual
// namespaces is what every feed reader does.
const WELL_KNOWN_PREFIXES: Readonly<Record<string, string>> = { ...NS };

export class XmlError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = "XmlError";
  }
}

const NAME = /[A-Za-z_:\u00c0-\uffff][-A-Za-z0-9._:\u00b7\u00c0-\uffff]*/y;
const SPACE = /[ \t\r\n]*/y;

/** Reads a whole document; returns its root element or throws XmlError. */
export function parseXml(source: string): XmlElement {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  let at = 0;

  function fail(problem: string, offset = at): never {
    // Whatever goes wrong at the very end is the end coming too early: say so, not what was missing.
    const message = offset >= text.length && !problem.startsWith("the document") ? "the document ends in the middle of a tag (truncated?)" : problem;
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    throw new XmlError(message, line, offset - before.lastIndexOf("\n"));
  }

  function skipSpace(): void {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    at = SPACE.lastIndex;
  }

  function readName(): string {
    NAME.lastIndex = at;
    const match = NAME.exec(text);
    if (!match) fail(`expected a name, found ${describeChar(text[at])}`);
    at = NAME.lastIndex;
    return match[0];
  }

  /** Skips from `at` past `terminator`; fails naming `what` when the document ends first. */
  function skipPast(terminator: string, what: string): string {
    const end = text.indexOf(terminator, at);
    if (end === -1) fail(`the document ends inside ${what} (truncated?)`);
    const skipped = text.slice(at, end);
    at = end + terminator.length;
    return skipped;
  }

  function skipDoctype(): void {
    // An internal subset ([...]) may hold '>' inside declarations; skip it as a whole.
    const start = at;
    while (at < text.length && text[at] !== ">") {
      if (text[at] === "[") {
        at = text.indexOf("]", at);
        if (at === -1) fail("the document ends inside the DOCTYPE (truncated?)", start);
      }
      at++;
    }
    if (at >= text.length) fail("the document ends inside the DOCTYPE (truncated?)", start);
    at++;
  }

  /** Comments, processing instructions, DOCTYPE: true when one was skipped. */
  function skipMisc(): boolean {
    if (text.startsWith("<!--", at)) {
      at += 4;
      skipPast("-->", "a comment");
      return true;
    }
    if (text.startsWith("<?", at)) {
      at += 2;
      skipPast("?>", "a processing instruction");
      return true;
    }
    if (text.startsWith("<!DOCTYPE", at)) {
      skipDoctype();
      return true;
    }
    return false;
  }

  function readAttributes(): { attrs: Record<string, string>; selfClosing: boolean } {
    const attrs: Record<string, string> = {};
    for (;;) {
      const beforeSpace = at;
      skipSpace();
      if (text.startsWith("/>", at)) {
        at += 2;
        return { attrs, selfClosing: true };
      }
      if (text[at] === ">") {
        at += 1;
        return { attrs, selfClosing: false };
      }
      if (at >= text.length) fail("the document ends inside a tag (truncated?)");
      if (at === beforeSpace) fail(`expected whitespace, '>' or '/>' in a tag, found ${describeChar(text[at])}`);
      const name = readName();
      skipSpace();
      if (text[at] !== "=") fail(`attribute "${name}" has no value`);
      at++;
      skipSpace();
      const quote = text[at];
      if (quote !== '"' && quote !== "'") fail(`the value of attribute "${name}" is not quoted`);
      const end = text.indexOf(quote, at + 1);
      if (end === -1) fail("the document ends inside an attribute value (truncated?)");
      const raw = text.slice(at + 1, end);
      if (raw.includes("<")) fail(`the value of attribute "${name}" contains '<'`);
      if (Object.hasOwn(attrs, name)) fail(`attribute "${name}" appears twice`);
      // Attribute-value normalisation: literal tabs and newlines read as spaces.
      attrs[name] = decodeEntities(raw.replace(/[\t\r\n]/g, " "), XML_ENTITIES);
      at = end + 1;
    }
  }

  // Prolog: declaration, comments, DOCTYPE, whitespace.
  for (;;) {
    skipSpace();
    if (!skipMisc()) break;
  }
  if (text[at] !== "<") fail(at >= text.length ? "the document is empty" : `expected the root element, found ${describeChar(text[at])}`);

  interface Open {
    element: XmlElement;
    scope: ReadonlyMap<string, string>;
    start: number;
  }
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let pendingText = "";

  function flushText(): void {
    const parent = stack.at(-1);
    if (parent && pendingText !== "") parent.element.children.push(pendingText);
    pendingText = "";
  }

  function openElement(): void {
    const start = at;
    at++; // '<'
    const name = readName();
    const { attrs, selfClosing } = readAttributes();
    const parentScope = stack.at(-1)?.scope ?? new Map<string, string>();
    let scope = parentScope;
    for (const [attr, value] of Object.entries(attrs)) {
      if (attr === "xmlns" || attr.startsWith("xmlns:")) {
        if (scope === parentScope) scope = new Map(parentScope);
        (scope as Map<string, string>).set(attr === "xmlns" ? "" : attr.slice(6), value);
      }
    }
    const colon = name.indexOf(":");
    const prefix = colon === -1 ? "" : name.slice(0, colon);
    const ns = scope.get(prefix) ?? (prefix === "" ? "" : (WELL_KNOWN_PREFIXES[prefix] ?? `urn:undeclared-prefix:${prefix}`));
    const element: XmlElement = { name, local: colon === -1 ? name : name.slice(colon + 1), ns, attrs, children: [] };
    const parent = stack.at(-1);
    if (parent) parent.element.children.push(element);
    else if (root) fail("a second root element", start);
    else root = element;
    if (!selfClosing) stack.push({ element, scope, start });
  }

  function closeElement(): void {
    const start = at;
    at += 2; // '</'
    const name = readName();
    skipSpace();
    if (text[at] !== ">") fail(`expected '>' after </${name}`);
    at++;
    const open = stack.pop();
    if (!open) fail(`</${name}> closes nothing`, start);
    if (open.element.name !== name) fail(`</${name}> closes <${open.element.name}>`, start);
  }

  while (at < text.length) {
    const lt = text.indexOf("<", at);
    const chunk = text.slice(at, lt === -1 ? text.length : lt);
    if (stack.length > 0) pendingText += decodeEntities(chunk, XML_ENTITIES);
    else if (chunk.trim() !== "") fail("text after the root element");
    at = lt === -1 ? text.length : lt;
    if (lt === -1) break;

    if (text.startsWith("<![CDATA[", at)) {
      if (stack.length === 0) fail("CDATA outside the root element");
      at += 9;
      pendingText += skipPast("]]>", "a CDATA section");
    } else if (text.startsWith("</", at)) {
      flushText();
      closeElement();
    } else if (text.startsWith("<!--", at) || text.startsWith("<?", at)) {
      skipMisc();
    } else if (text.startsWith("<!", at)) {
      fail("unexpected markup declaration");
    } else {
      if (stack.length === 0 && root) fail("a second root element");
      flushText();
      openElement();
    }
  }
  const unclosed = stack.at(-1);
  if (unclosed) fail(`the document ends inside <${unclosed.element.name}> (truncated?)`, text.length);
  if (!root) fail("no root element");
  return root;
}

function describeChar(char: string | undefined): string {
  return char === undefined ? "the end of the document" : JSON.stringify(char);
}

/** Child elements of `parent` with this namespace and local name. */
export function childrenOf(parent: XmlElement, ns: string, local: string): XmlElement[] {
  return parent.children.filter((node): node is XmlElement => typeof node !== "string" && node.local === local && node.ns === ns);
}

export function childOf(parent: XmlElement, ns: string, local: string): XmlElement | undefined {
  return parent.children.find((node): node is XmlElement => typeof node !== "string" && node.local === local && node.ns === ns);
}

/** All text inside an element, markup removed. */
export function textOf(element: XmlElement): string {
  return element.children.map((node) => (typeof node === "string" ? node : textOf(node))).join("");
}

/** The trimmed text of the first such child; undefined when missing or blank. */
export function childText(parent: XmlElement, ns: string, local: string): string | undefined {
  const child = childOf(parent, ns, local);
  const text = child === undefined ? "" : textOf(child).trim();
  return text === "" ? undefined : text;
}
