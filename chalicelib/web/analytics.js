// Analytics (issue 6): brand level with ranges and skills, and per campaign.
import { get, itemsOf } from "./api.js";
import { chart, failure, field, h, heading, notice, pct, setMain, put } from "./ui.js";

const RANGES = [["today", "Today"], ["this_week", "This week"], ["this_month", "This month"],
  ["last_30_days", "Last 30 days"], ["last_60_days", "Last 60 days"], ["last_90_days", "Last 90 days"],
  ["year_to_date", "Year to date"], ["custom", "Dates below"]];

// Buckets are hours or days of the brand's time zone: label them in that zone, not the browser's.
function label(start, granularity, timeZone) {
  const d = new Date(start);
  if (Number.isNaN(d.getTime())) return String(start);
  const zone = timeZone ? { timeZone } : {};
  try {
    return granularity === "hour"
      ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", ...zone })
      : d.toLocaleDateString(undefined, { month: "short", day: "numeric", ...zone });
  } catch {
    return String(start); // a time zone this browser does not know
  }
}

export function renderAnalytics(data) {
  const t = data.totals || {};
  const r = data.rates || {};
  const ds = data.delivery_status || {};
  const rs = data.response_status || {};
  const series = data.series || [];
  const granularity = data.range?.granularity || "day";
  const colors = { sent: "#2563eb", delivered: "#15803d", failed: "#b91c1c", responded: "#7c3aed",
    not_responded: "#94a3b8", opted_out: "#b45309" };
  return h("div", { class: "analytics" },
    data.range ? h("p", { class: "hint" }, `${data.range.from} to ${data.range.to} (${data.range.time_zone}), per ${granularity}`) : null,
    h("dl", { class: "tiles" },
      h("div", {}, h("dt", {}, "Success rate"), h("dd", { "data-metric": "success_rate" }, pct(r.success_rate))),
      h("div", {}, h("dt", {}, "Delivery rate"), h("dd", { "data-metric": "delivery_rate" }, pct(r.delivery_rate))),
      h("div", {}, h("dt", {}, "Response rate"), h("dd", { "data-metric": "response_rate" }, pct(r.response_rate))),
      h("div", {}, h("dt", {}, "Opt-outs"), h("dd", { "data-metric": "opted_out" }, t.opted_out ?? 0)),
      h("div", {}, h("dt", {}, "Sent"), h("dd", { "data-metric": "sent" }, t.sent ?? 0)),
      h("div", {}, h("dt", {}, "Delivered"), h("dd", { "data-metric": "delivered" }, t.delivered ?? 0)),
      h("div", {}, h("dt", {}, "Failed"), h("dd", { "data-metric": "failed" }, t.failed ?? 0)),
      h("div", {}, h("dt", {}, "Responded"), h("dd", { "data-metric": "responded" }, t.responded ?? 0))),
    h("div", { class: "charts" },
      chart("Delivery status", "doughnut", ["Sent", "Delivered", "Failed"],
        [{ label: "Messages", data: [ds.sent || 0, ds.delivered || 0, ds.failed || 0],
          backgroundColor: [colors.sent, colors.delivered, colors.failed] }]),
      chart("Response status", "doughnut", ["Delivered", "Responded", "Not responded"],
        [{ label: "Messages", data: [rs.delivered || 0, rs.responded || 0, rs.not_responded || 0],
          backgroundColor: [colors.delivered, colors.responded, colors.not_responded] }]),
      chart(`Messages over time (per ${granularity})`, "bar", series.map((p) => label(p.start, granularity, data.range?.time_zone)),
        ["sent", "delivered", "failed", "responded", "opted_out"].map((k) => ({
          label: k.replace("_", " "), data: series.map((p) => p[k] || 0), backgroundColor: colors[k] })),
        { scales: { x: { stacked: false }, y: { beginAtZero: true, ticks: { precision: 0 } } } })));
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
  const from = h("input", { type: "date", id: "from" });
  const to = h("input", { type: "date", id: "to" });
  const skillsBox = h("fieldset", { id: "skills" }, h("legend", {}, "Skills"), notice("info", "Loading skills…"));
  const out = h("div", { id: "analytics-result", "aria-live": "polite" });
  const dates = () => { range.value = from.value || to.value ? "custom" : range.value; };
  from.addEventListener("change", dates);
  to.addEventListener("change", dates);
  let skillInputs = null;
  let skillsText = null;

  const load = async () => {
    const qs = new URLSearchParams();
    if (range.value === "custom") {
      if (!from.value || !to.value) {
        put(out, notice("error", "Choose both dates, or a quick range."));
        return;
      }
      qs.set("from", from.value);
      qs.set("to", to.value);
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
      put(out, renderAnalytics(data));
    } catch (err) {
      put(out, failure(err, "Analytics"));
    }
  };

  setMain(heading("Analytics"),
    h("form", { class: "card filters", onsubmit: (e) => { e.preventDefault(); load(); } },
      h("div", { class: "row" }, field("Quick range", range), field("From", from), field("To", to)),
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
