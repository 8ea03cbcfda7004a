// Small DOM helpers shared by the pages (no framework).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "style" && typeof value === "object") {
      Object.assign(el.style, value); // CSSOM, allowed by the page's CSP (style attributes are not)
    } else if (name === "class") {
      el.className = value;
    } else if (name === "text") {
      el.textContent = value;
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Each render gets a token; pollers of a page that is no longer shown stop by themselves.
let renderToken = 0;
export const newToken = () => ++renderToken;
export const isCurrent = (token) => token === renderToken;

let uid = 0;
export const newId = (prefix) => `${prefix}-${++uid}`;

// A labelled form field: the label is always tied to its control.
export function field(label, control, hint) {
  if (!control.id) control.id = newId("f");
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

export function notice(kind, message) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

// The inline notice when a part of the API is not on this server yet (or any other failure).
export function failure(err, what) {
  if (err && err.missing) return notice("unavailable", `${what} are not available on this server yet.`);
  if (err && err.status === 403) return notice("error", `You may not see ${what.toLowerCase()}: ${err.message}`);
  return notice("error", `${what} could not be loaded: ${err ? err.message : "unknown error"}`);
}

export function badge(status) {
  return h("span", { class: `badge s-${String(status || "").toLowerCase()}` }, status || "—");
}

// A rate; "not reported" when the API says the figure is unknown (no delivery reports), which
// is not the same as 0%.
export function pct(value, unknown = false) {
  if (unknown) return "not reported";
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return `${(value * 100).toFixed(1)}%`;
}

export const perSecond = (rate) => `${rate} message${Number(rate) === 1 ? "" : "s"}/second`;

// Dates are the brand's: its time zone and its locale (GET /brand), whatever the browser's are,
// so a campaign and its analytics show the same day. Until /brand answers (or on a server
// without it), the browser's.
const brandPrefs = { timeZone: undefined, locale: undefined };

export function useBrand(brand) {
  brandPrefs.timeZone = brand?.time_zone || undefined;
  brandPrefs.locale = brand?.locale || undefined;
}

function format(date, options) {
  try {
    return date.toLocaleString(brandPrefs.locale, { timeZone: brandPrefs.timeZone, ...options });
  } catch {
    return date.toLocaleString(undefined, options); // a zone or locale this browser does not know
  }
}

export function when(iso) {
  if (!iso) return "—";
  return format(new Date(iso), { year: "numeric", month: "2-digit", day: "2-digit", hour: "numeric",
    minute: "2-digit", timeZoneName: "short" });
}

// The brand's time zone as a name (the browser's until GET /brand answers).
export function zoneName() {
  return brandPrefs.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

// A wall-clock date (YYYY-MM-DD) and time (HH:MM) in the brand's time zone as ISO-8601 with the
// zone's offset at that moment, e.g. 2026-12-03T09:00:00-05:00 for America/New_York.
export function zonedIso(date, time) {
  const [y, mo, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mm);
  let zone = brandPrefs.timeZone;
  const offsetAt = (instant) => { // minutes east of UTC in the zone at `instant`
    let formatter;
    try {
      formatter = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
        month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    } catch {
      zone = undefined; // a zone this browser does not know: the browser's
      return offsetAt(instant);
    }
    const p = Object.fromEntries(formatter.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
    return Math.round((Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute) - instant) / 60000);
  };
  let offset = offsetAt(wall);
  offset = offsetAt(wall - offset * 60000); // the offset at the instant itself (DST changes)
  const sign = offset >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${date}T${time}:00${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

// A period's label on a chart axis: hour, day or month of the brand's time zone.
export function periodLabel(iso, granularity) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const options = { hour: { hour: "2-digit", minute: "2-digit" }, month: { month: "short", year: "numeric" } };
  return format(d, options[granularity] || { month: "2-digit", day: "2-digit" });
}

// A calendar day (YYYY-MM-DD) as the brand writes it (MM/DD/YYYY for en-US), and back.
const DAY_OPTIONS = { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "UTC" };
const dayParts = () => {
  try {
    return new Intl.DateTimeFormat(brandPrefs.locale, DAY_OPTIONS).formatToParts(new Date(Date.UTC(2001, 10, 22)));
  } catch {
    return new Intl.DateTimeFormat(undefined, DAY_OPTIONS).formatToParts(new Date(Date.UTC(2001, 10, 22)));
  }
};

export function dayPattern() {
  const names = { year: "YYYY", month: "MM", day: "DD" };
  return dayParts().map((p) => names[p.type] || p.value).join("");
}

export function showDay(isoDay) {
  if (!isoDay) return "";
  const [y, m, d] = isoDay.split("-");
  const values = { year: y, month: m, day: d };
  return dayParts().map((p) => values[p.type] ?? p.value).join("");
}

export function parseDay(text) {
  const order = dayParts().filter((p) => ["year", "month", "day"].includes(p.type)).map((p) => p.type);
  const numbers = String(text || "").trim().split(/[^0-9]+/).filter(Boolean);
  if (numbers.length !== 3) return null;
  const v = Object.fromEntries(order.map((name, i) => [name, Number(numbers[i])]));
  const date = new Date(Date.UTC(v.year, v.month - 1, v.day));
  if (v.year < 1000 || date.getUTCMonth() !== v.month - 1 || date.getUTCDate() !== v.day) return null;
  return date.toISOString().slice(0, 10);
}

export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
}

// A table in a box that scrolls sideways on a narrow screen, and then says so.
export function table(caption, headers, rows, attrs = {}) {
  const hint = h("p", { class: "hint scroll-hint", hidden: true }, "Scroll sideways to see every column →");
  const wrap = h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", attrs,
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
  if (window.ResizeObserver) {
    new ResizeObserver(() => { hint.hidden = wrap.scrollWidth <= wrap.clientWidth + 1; }).observe(wrap);
  }
  return h("div", { class: "table-box" }, hint, wrap);
}

// replaceChildren without the nulls of conditional children (it would print "null").
export function put(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// A page's loader whose answers show in the order the loads were asked for, not the order they
// arrive: a reload started while an earlier one is in flight (a filter changed, an action done)
// supersedes it, and the earlier answer, arriving last, is dropped instead of overwriting the
// newer one. The loader gets `current()`, true while no newer load was asked for; it checks it
// after each wait before it changes the page.
export function latestOnly(loader) {
  let asked = 0;
  return (...args) => {
    const mine = ++asked;
    return loader(() => mine === asked, ...args);
  };
}

export function setMain(...children) {
  return put(document.getElementById("main"), ...children);
}

export function heading(text) {
  document.title = `${text} · Proactive messaging`;
  return h("h1", {}, text);
}

// Charts: Chart.js from the npm registry (make web). Without it, the numbers stay as a table.
export function chart(label, type, labels, datasets, options = {}, id = undefined) {
  const canvas = h("canvas", { role: "img", "aria-label": label });
  const box = h("figure", { class: "chart", id }, h("figcaption", {}, label), h("div", { class: "chart-box" }, canvas));
  const empty = datasets.every((d) => d.data.every((v) => !v));
  if (empty) box.append(h("p", { class: "hint" }, "Nothing to show yet."));
  if (window.Chart) {
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      type,
      data: { labels, datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...options },
    });
  } else {
    box.append(notice("info", "Charts are not available (the chart library is not installed); the numbers:"));
  }
  const rows = labels.map((name, i) => h("tr", {}, h("th", { scope: "row" }, name),
    datasets.map((d) => h("td", {}, d.data[i]))));
  box.append(h("details", {}, h("summary", {}, "Numbers"),
    table(label, ["", ...datasets.map((d) => d.label)], rows)));
  return box;
}
