// Mastodon statuses, feed descriptions and Hacker News comments arrive as HTML; items
// carry plain text, because alerts and e-mails show it as such.
import { decodeEntities, HTML_ENTITIES } from "./entities.js";

const BLOCK_END = /<\/(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|tr|table|section|article|header|footer|figure)\s*>/gi;
const LINE_BREAK = /<br\s*\/?>/gi;
// Hacker News separates paragraphs with a bare <p>, without closing them.
const PARAGRAPH_START = /<p(?:\s[^>]*)?>/gi;
const TAG = /<\/?[A-Za-z][^<>]*>/g;
const INVISIBLE = /<(script|style|template)\b[^>]*>[\s\S]*?<\/\1\s*>|<!--[\s\S]*?-->/gi;

/** Plain text of an HTML fragment: tags removed, paragraphs and line breaks kept, entities decoded. */
export function htmlToText(html: string): string {
  // Newlines in HTML source are plain whitespace; only <br> and block ends break lines.
  const text = html.replace(INVISIBLE, "").replace(/\s+/g, " ").replace(LINE_BREAK, "\n").replace(BLOCK_END, "\n\n").replace(PARAGRAPH_START, "\n\n").replace(TAG, "");
  return decodeEntities(text, HTML_ENTITIES)
    .split("\n")
    .map((line) => line.replace(/[ \t\f\v\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
