// SMS length as the gateway counts it (mirrors chalicelib/domain/content.py): GSM-7 160 per
// message or 153 per segment, extension characters cost two; otherwise UCS-2 70/67 in UTF-16
// code units. The product limits the whole message (with the opt-out text) to 140 characters.

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
  const segments = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
  return {
    encoding: gsm ? "GSM-7" : "UCS-2",
    units,
    segments,
    characters: chars.length,
    left: SINGLE_LIMIT - chars.length,
    over: chars.length > SINGLE_LIMIT,
  };
}

// The opt-out text is not known (GET /brand not available): count the reserved 42 characters.
export function reservedOptOut() {
  return "x".repeat(OPT_OUT_RESERVED - 1);
}
