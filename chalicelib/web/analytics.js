// Analytics: brand level with ranges and skills, and per campaign.
import { get, itemsOf } from "./api.js";
import { chart, dayPattern, failure, field, h, heading, latestOnly, notice, parseDay, pct, periodLabel,
  setMain, showDay, put } from "./ui.js";

const RANGES = [["today", "Today"], ["this_week", "This week"], ["this_month", "This month"],
  ["last_30_days", "Last 30 days"], ["last_60_days", "Last 60 days"], ["last_90_days", "Last 90 days"],
  ["year_to_date", "Year to date"], ["since_onboarding", "Since onboarding"], ["custom", "Dates below"]];
const PER = { hour: "hour", day: "day", month: "month" };
const COLORS = { sent: "#2563eb", gateway: "#15803d", failed: "#b91c1c", responded: "#7c3aed",
  not_responded: "#94a3b8", delivered: "#0f766e", undelivered: "#c2410c", no_report: "#cbd5e1" };

const tile = (label, metric, value, extra) => h("div", {}, h("dt", {}, label),
  h("dd", { "data-metric": metric, class: value === "not reported" ? "unknown" : "" }, value),
  extra ? h("p", { class: "hint" }, extra) : null);

// The figures as PRODUCT.md defines them (success, response and opt-out rates over messages
// accepted by the gateway); delivery to the consumer is an extra, labelled so, and "not
// reported" when no delivery report came (never a false 0%).
export function renderAnalytics(data) {
  const t = data.totals || {};
  const r = data.rates || {};
  const unknown = new Set(data.not_reported || []);
  const ds = data.delivery_status || {};
  const rs = data.response_status || {};
  const cd = data.consumer_delivery;
  const series = data.series || [];
  const granularity = data.range?.granularity || "day";
  const consumerChart = !cd ? null : unknown.has("delivered")
    ? h("figure", { class: "chart", id: "chart-consumer-delivery" },
      h("figcaption", {}, "Delivered to consumer (extra)"),
      notice("info", "Not reported: no delivery report came for these messages (no status callbacks for the number)."))
    : chart("Delivered to consumer (extra)", "bar",
      ["Delivered to the gateway", "Delivered to consumer", "Undelivered", "No report yet"],
      [{ label: "Messages", data: [cd.delivered_gateway, cd.delivered, cd.undelivered, cd.no_report],
        backgroundColor: [COLORS.gateway, COLORS.delivered, COLORS.undelivered, COLORS.no_report] }],
      { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      "chart-consumer-delivery");
  const bars = { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } };
  return h("div", { class: "analytics" },
    data.range ? h("p", { class: "hint", id: "analytics-range" },
      `${showDay(data.range.from)} to ${showDay(data.range.to)} (${data.range.time_zone}), per ${PER[granularity] || granularity}`) : null,
    h("dl", { class: "tiles" },
      tile("Success rate", "success_rate", pct(r.success_rate), "accepted by the gateway / sent"),
      tile("Response rate", "response_rate", pct(r.response_rate), "with a response / accepted by the gateway"),
      tile("Opt-out rate", "opt_out_rate", pct(r.opt_out_rate), `${t.opted_out ?? 0} consumer${t.opted_out === 1 ? "" : "s"} opted out`),
      tile("Sent", "sent", t.sent ?? 0),
      tile("Delivered to the gateway", "delivered_gateway", t.delivered_gateway ?? 0),
      tile("Failed", "failed", ds.failed ?? 0, "refused by the gateway"),
      tile("Responded", "responded", t.responded ?? 0),
      tile("Delivered to consumer (extra)", "delivered", unknown.has("delivered") ? "not reported" : t.delivered ?? 0),
      tile("Delivery rate to consumer (extra)", "delivery_rate", pct(r.delivery_rate, unknown.has("delivery_rate")))),
    h("div", { class: "charts" },
      chart("Delivery status", "bar", ["Total sent", "Delivered to the gateway", "Failed"],
        [{ label: "Messages", data: [ds.sent || 0, ds.delivered_gateway || 0, ds.failed || 0],
          backgroundColor: [COLORS.sent, COLORS.gateway, COLORS.failed] }], bars, "chart-delivery-status"),
      chart("Response status", "bar", ["Delivered to the gateway", "With a response", "Without a response"],
        [{ label: "Messages", data: [rs.delivered_gateway || 0, rs.responded || 0, rs.not_responded || 0],
          backgroundColor: [COLORS.gateway, COLORS.responded, COLORS.not_responded] }], bars, "chart-response-status"),
      consumerChart,
      // Sent is one bar of success (accepted by the gateway) over failed; responses beside it.
      chart(`Messages sent (per ${PER[granularity] || granularity})`, "bar",
        series.map((p) => periodLabel(p.start, granularity)),
        [{ label: "Sent: success", data: series.map((p) => p.delivered_gateway || 0), backgroundColor: COLORS.gateway, stack: "sent" },
          { label: "Sent: failed", data: series.map((p) => (p.sent || 0) - (p.delivered_gateway || 0)), backgroundColor: COLORS.failed, stack: "sent" },
          { label: "Responses", data: series.map((p) => p.responded || 0), backgroundColor: COLORS.responded, stack: "responses" }],
        { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
        "chart-messages-sent")));
}

// The campaign's analytics in `container`; called again while it sends, it redraws in place
// (keeping what is shown until the new numbers are in).
export async function campaignAnalytics(container, id, refresh = false) {
  let body = container.querySelector(".campaign-analytics-body");
  if (!body) {
    body = h("div", { class: "campaign-analytics-body" }, notice("info", "Loading analytics…"));
    container.append(body);
  }
  try {
    const data = await get(`campaigns/${encodeURIComponent(id)}/analytics`);
    body.querySelectorAll("canvas").forEach((c) => window.Chart?.getChart(c)?.destroy());
    put(body, renderAnalytics(data));
  } catch (err) {
    if (!refresh) put(body, failure(err, "Campaign analytics"));
  }
}

export async function analyticsPage(token, params) {
  const range = h("select", { id: "range" }, RANGES.map(([value, text]) =>
    h("option", { value, selected: value === (params.get("range") || "last_30_days") }, text)));
  // Dates as the brand writes them (MM/DD/YYYY for a US brand), not as the browser would.
  const pattern = dayPattern();
  const from = h("input", { id: "from", inputmode: "numeric", placeholder: pattern, autocomplete: "off", size: "12" });
  const to = h("input", { id: "to", inputmode: "numeric", placeholder: pattern, autocomplete: "off", size: "12" });
  const skillsBox = h("fieldset", { id: "skills" }, h("legend", {}, "Skills"), notice("info", "Loading skills…"));
  const out = h("div", { id: "analytics-result", "aria-live": "polite" });
  const dates = () => { range.value = from.value || to.value ? "custom" : range.value; };
  from.addEventListener("input", dates);
  to.addEventListener("input", dates);
  let skillInputs = null;
  let skillsText = null;

  const load = latestOnly(async (current) => {
    const qs = new URLSearchParams();
    if (range.value === "custom") {
      const first = parseDay(from.value);
      const last = parseDay(to.value);
      if (!first || !last) {
        put(out, notice("error", `Give both dates as ${pattern}, or choose a quick range.`));
        return;
      }
      qs.set("from", first);
      qs.set("to", last);
    } else {
      qs.set("range", range.value);
    }
    const chosen = skillInputs ? skillInputs.filter((i) => i.checked).map((i) => i.value)
      : (skillsText?.value || "").split(",").map((x) => x.trim()).filter(Boolean);
    if (skillInputs && chosen.length && chosen.length < skillInputs.length) qs.set("skills", chosen.join(","));
    if (!skillInputs && chosen.length) qs.set("skills", chosen.join(","));
    put(out, notice("info", "Loading analytics…"));
    try {
      const data = await get(`analytics?${qs}`);
      if (!current()) return;
      out.querySelectorAll("canvas").forEach((c) => window.Chart?.getChart(c)?.destroy());
      put(out, renderAnalytics(data));
      // the dates the range covers, in the brand's writing
      if (data.range) { from.value = showDay(data.range.from); to.value = showDay(data.range.to); }
    } catch (err) {
      if (current()) put(out, failure(err, "Analytics"));
    }
  });

  setMain(heading("Analytics"),
    h("form", { class: "card filters", onsubmit: (e) => { e.preventDefault(); load(); } },
      h("div", { class: "row" }, field("Quick range", range), field(`From (${pattern})`, from), field(`To (${pattern})`, to)),
      skillsBox,
      h("button", { type: "submit", class: "primary" }, "Show")),
    out);

  try {
    const skills = itemsOf(await get("skills"), "skills");
    skillInputs = skills.map((s) => h("input", { type: "checkbox", value: s.skill_id || s.id, checked: true,
      id: `skill-${s.skill_id || s.id}` }));
    put(skillsBox, h("legend", {}, "Skills (all by default)"),
      skills.map((s, i) => h("div", { class: "radio" }, skillInputs[i],
        h("label", { for: skillInputs[i].id }, s.name || s.skill_id || s.id))));
  } catch {
    skillsText = h("input", { id: "skills-text", placeholder: "all skills" });
    put(skillsBox, h("legend", {}, "Skills"),
      field("Skill ids, comma-separated (empty = all)", skillsText,
        "The list of skills is not available on this server yet."));
  }
  await load();
}
