// SMS length as the gateway counts it (mirrors chalicelib/domain/content.py): GSM-7 160 per
// message or 153 per segment, extension characters cost two; otherwise UCS-2 70/67 in UTF-16
// code units. A part never splits an extension character's escape pair nor an emoji's surrogate
// pair, so a message can need one more part than units / part size. The product limits the
// whole message (with the opt-out text) to 140 characters and one segment.
// Both counts are tested against tests/vectors/segments.json.

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà");
const GSM7_EXTENSION = new Set("^{}\\[~]|€\f");

export const SINGLE_LIMIT = 140;
export const OPT_OUT_RESERVED = 42;

export function withOptOut(text, optOut) {
  const body = text.replace(/\s+$/, "");
  return optOut ? `${body}\n${optOut}` : body;
}

export function smsInfo(message) {
  const chars = [...message];
  const gsm = chars.every((ch) => GSM7_BASIC.has(ch) || GSM7_EXTENSION.has(ch));
  const units = gsm ? chars.reduce((n, ch) => n + (GSM7_EXTENSION.has(ch) ? 2 : 1), 0)
    : message.length; // UTF-16 code units
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const segments = units === 0 ? 0 : units <= single ? 1 : pack(chars, gsm, multi);
  return {
    encoding: gsm ? "GSM-7" : "UCS-2",
    units,
    segments,
    characters: chars.length,
    left: SINGLE_LIMIT - chars.length,
    over: chars.length > SINGLE_LIMIT,
  };
}

// Parts of `multi` units, filled in order: a two-unit character that does not fit starts the next.
function pack(chars, gsm, multi) {
  let segments = 1;
  let used = 0;
  for (const ch of chars) {
    const cost = gsm ? (GSM7_EXTENSION.has(ch) ? 2 : 1) : ch.length; // UTF-16 code units
    if (used + cost > multi) { segments += 1; used = 0; }
    used += cost;
  }
  return segments;
}

// Why Parse would refuse the message (POST /recipients/parse, MESSAGE_TOO_LONG), or null: over
// 140 characters with the opt-out text, or more than one segment. `allowMulti` allows both.
export function refusal(info, allowMulti) {
  if (allowMulti) return null;
  if (info.over) {
    return `The message with the opt-out text is ${info.characters} characters; the limit is ` +
      `${SINGLE_LIMIT}. Shorten it or allow longer messages (it would go as ${info.segments} segments).`;
  }
  if (info.segments > 1 && info.encoding === "UCS-2") {
    return "The message with the opt-out text has characters outside the GSM alphabet (e.g. an " +
      `emoji), so it goes as UCS-2 (70 characters a segment) in ${info.segments} segments. Use ` +
      "plain characters or allow longer messages.";
  }
  if (info.segments > 1) {
    return "The message with the opt-out text has extension characters (€ [ ] { } ~ | ^ \\) that " +
      `count twice, so it needs ${info.segments} segments. Shorten it or allow longer messages.`;
  }
  return null;
}

// The opt-out text is not known (GET /brand not available): count the reserved 42 characters.
export function reservedOptOut() {
  return "x".repeat(OPT_OUT_RESERVED - 1);
}
