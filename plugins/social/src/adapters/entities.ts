// Character references, shared by the XML reader (feeds) and the HTML-to-text step
// (Mastodon statuses, feed descriptions, Hacker News comments).

/** The five entities XML predefines. */
export const XML_ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** XML's five plus the HTML entities that turn up in posts and feed descriptions. */
export const HTML_ENTITIES: Readonly<Record<string, string>> = {
  ...XML_ENTITIES,
  nbsp: "\u00a0",
  shy: "\u00ad",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  sbquo: "‚",
  ldquo: "“",
  rdquo: "”",
  bdquo: "„",
  laquo: "«",
  raquo: "»",
  bull: "•",
  middot: "·",
  deg: "°",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  sect: "§",
  para: "¶",
  times: "×",
  divide: "÷",
  plusmn: "±",
  larr: "←",
  rarr: "→",
  uarr: "↑",
  darr: "↓",
  zwj: "\u200d",
  zwnj: "\u200c",
  thinsp: "\u2009",
  ensp: "\u2002",
  emsp: "\u2003",
};

const REFERENCE = /&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});/g;

/**
 * Replaces numeric references and the named ones in `named`. Unknown names and a bare
 * `&` stay as written: feeds in the wild carry both, and dropping them would lose text.
 */
export function decodeEntities(text: string, named: Readonly<Record<string, string>>): string {
  if (!text.includes("&")) return text;
  return text.replace(REFERENCE, (whole, ref: string) => {
    if (ref[0] !== "#") return Object.hasOwn(named, ref) ? named[ref]! : whole;
    const code = ref[1] === "x" || ref[1] === "X" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    return isCharacter(code) ? String.fromCodePoint(code) : "\ufffd";
  });
}

// XML's Char production: no NUL, no lone surrogates, nothing past U+10FFFF.
function isCharacter(code: number): boolean {
  if (code === 0x9 || code === 0xa || code === 0xd) return true;
  if (code < 0x20) return false;
  if (code >= 0xd800 && code <= 0xdfff) return false;
  return code <= 0x10ffff && code !== 0xfffe && code !== 0xffff;
}
