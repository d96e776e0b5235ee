// The adapters' shared readers: XML (feeds), HTML to text (posts), and 429 wait headers.
import { describe, expect, it } from "vitest";
import { htmlToText } from "../src/adapters/html-text.js";
import { nextAllowedAt } from "../src/adapters/rate-limit.js";
import { childOf, childrenOf, childText, NS, parseXml, textOf, XmlError, type XmlElement } from "../src/adapters/xml.js";

describe("parseXml", () => {
  it("reads elements, attributes in either quotes, text and CDATA", () => {
    const root = parseXml(`<a x="1" y='two'><b>hello <![CDATA[<raw> & ]]>world</b><c/></a>`);
    expect(root).toMatchObject({ name: "a", local: "a", ns: "", attrs: { x: "1", y: "two" } });
    const b = childOf(root, "", "b")!;
    expect(textOf(b)).toBe("hello <raw> & world");
    expect(childOf(root, "", "c")!.children).toEqual([]);
  });

  it("decodes the predefined and numeric references, in text and attributes", () => {
    const root = parseXml(`<a t="&quot;q&quot; &#65;&#x42;">&lt;&gt;&amp;&apos;&quot; &#233;&#x1F600; &#0; fish &amp;amp; chips</a>`);
    expect(root.attrs.t).toBe('"q" AB');
    expect(textOf(root)).toBe(`<>&'" é😀 \ufffd fish &amp; chips`);
  });

  it("keeps unknown entities and bare ampersands as written, as feed readers do", () => {
    expect(textOf(parseXml(`<a>Tom &nbsp;&amp; Jerry & co</a>`))).toBe("Tom &nbsp;& Jerry & co");
  });

  it("normalises literal tabs and newlines in attribute values", () => {
    expect(parseXml(`<a t="one\ttwo\nthree"/>`).attrs.t).toBe("one two three");
  });

  it("resolves namespaces: default, prefixed, redeclared, and well-known prefixes left undeclared", () => {
    const root = parseXml(`<feed xmlns="${NS.atom}" xmlns:m="${NS.media}">
      <entry><m:group><m:title>T</m:title></m:group><dc:creator>Ann</dc:creator>
        <inner xmlns="urn:other"><title>other</title></inner>
      </entry></feed>`);
    expect([root.ns, root.local]).toEqual([NS.atom, "feed"]);
    const entry = childOf(root, NS.atom, "entry")!;
    const group = childOf(entry, NS.media, "group")!;
    expect(group.name).toBe("m:group");
    expect(childText(group, NS.media, "title")).toBe("T");
    expect(childText(entry, NS.dc, "creator")).toBe("Ann");
    const inner = childOf(entry, "urn:other", "inner")!;
    expect(childText(inner, "urn:other", "title")).toBe("other");
    expect(childOf(inner, NS.atom, "title")).toBeUndefined();
  });

  it("skips the declaration, comments, processing instructions and a DOCTYPE with an internal subset, without expanding its entities", () => {
    const root = parseXml(`\ufeff<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY boom "x"> <!ENTITY bigger "&boom;&boom;"> ]>
<!-- hi -->
<rss><?pi here?><!-- inside --><channel>&boom;</channel></rss>
<!-- after -->`);
    expect(root.name).toBe("rss");
    expect(textOf(childOf(root, "", "channel")!)).toBe("&boom;");
  });

  it("childrenOf and childText find direct children by namespace and local name", () => {
    const root = parseXml(`<r><i>1</i><x><i>nested</i></x><i>  </i><i>2</i></r>`);
    expect(childrenOf(root, "", "i").map((i: XmlElement) => textOf(i))).toEqual(["1", "  ", "2"]);
    expect(childText(root, "", "missing")).toBeUndefined();
  });

  const broken: [string, string, RegExp][] = [
    ["truncated", `<rss><channel><item><title>Cut`, /^the document ends inside <title> \(truncated\?\) \(line 1, column 31\)$/],
    ["truncated in a tag", `<rss><channel><item hr`, /^the document ends in the middle of a tag \(truncated\?\)/],
    ["mismatched end tag", `<a>\n  <b></c></a>`, /^<\/c> closes <b> \(line 2, column 6\)$/],
    ["end tag closing nothing", `<a></a></b>`, /^<\/b> closes nothing \(line 1, column 8\)$/],
    ["unquoted attribute", `<html lang=en></html>`, /^the value of attribute "lang" is not quoted/],
    ["attribute without value", `<a checked></a>`, /^attribute "checked" has no value/],
    ["duplicate attribute", `<a x="1" x="2"/>`, /^attribute "x" appears twice/],
    ["'<' in an attribute value", `<a x="<"/>`, /^the value of attribute "x" contains '<'/],
    ["two roots", `<a/><b/>`, /^a second root element/],
    ["text after the root", `<a/>trailing`, /^text after the root element/],
    ["empty document", `   `, /^the document is empty/],
    ["not XML at all", `{"json": true}`, /^expected the root element, found "\{"/],
    ["unterminated comment", `<a><!-- no end</a>`, /^the document ends inside a comment \(truncated\?\)/],
  ];
  for (const [what, xml, message] of broken) {
    it(`refuses a document with ${what}`, () => {
      expect(() => parseXml(xml)).toThrow(XmlError);
      expect(() => parseXml(xml)).toThrow(message);
    });
  }
});

describe("htmlToText", () => {
  it("keeps paragraphs and line breaks, drops tags, decodes entities, collapses spaces", () => {
    expect(htmlToText(`<p>Hello <b>big</b>\n   world</p><p>line one<br />line&nbsp;two &amp; &#8212; &hellip;</p>`)).toBe("Hello big world\n\nline one\nline two & — …");
  });

  it("reads Mastodon's hidden link spans back into the whole URL", () => {
    const html = `<p>See <a href="https://example.com/a/very/long/path/to/something"><span class="invisible">https://</span><span class="ellipsis">example.com/a/very/long/path/</span><span class="invisible">to/something</span></a></p>`;
    expect(htmlToText(html)).toBe("See https://example.com/a/very/long/path/to/something");
  });

  it("reads Hacker News's bare <p> paragraph starts", () => {
    expect(htmlToText("First.<p>Second &#x27;quoted&#x27; &#x2F; slash")).toBe("First.\n\nSecond 'quoted' / slash");
  });

  it("drops scripts, styles and comments, keeps a lone '<'", () => {
    expect(htmlToText(`a <script>alert(1)</script><style>p{}</style><!-- c -->b < c`)).toBe("a b < c");
  });
});

describe("nextAllowedAt reads each platform's 429 headers", () => {
  const now = Date.parse("2026-11-27T10:00:00Z");
  it.each([
    ["Retry-After in seconds", { "retry-after": "30" }, now + 30_000],
    ["Retry-After as an HTTP date", { "retry-after": "Fri, 27 Nov 2026 10:01:00 GMT" }, now + 60_000],
    ["X's x-rate-limit-reset in epoch seconds", { "x-rate-limit-reset": String(now / 1000 + 900) }, now + 900_000],
    ["Mastodon's x-ratelimit-reset as an ISO time", { "x-ratelimit-reset": "2026-11-27T10:05:00.000000Z" }, now + 300_000],
    ["Reddit's x-ratelimit-reset in seconds to go", { "x-ratelimit-reset": "42" }, now + 42_000],
    ["Bluesky's ratelimit-reset in epoch seconds", { "ratelimit-reset": String(now / 1000 + 120) }, now + 120_000],
    ["Retry-After before a window's reset", { "retry-after": "5", "x-rate-limit-reset": String(now / 1000 + 900) }, now + 5_000],
    ["a time already past as now", { "retry-after": "Fri, 27 Nov 2026 09:00:00 GMT" }, now],
  ])("%s", (_, headers, expected) => {
    expect(nextAllowedAt(headers, now)).toBe(expected);
  });

  it("undefined when nothing says", () => {
    expect(nextAllowedAt({}, now)).toBeUndefined();
    expect(nextAllowedAt({ "retry-after": "soon" }, now)).toBeUndefined();
  });
});
