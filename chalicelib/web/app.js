// The web tool: a single page with hash routes, talking to the public API only.
import { ApiError, api, download, get, post, session } from "./api.js";
import { analyticsPage, campaignAnalytics } from "./analytics.js";
import { optOutsPage, templatesPage } from "./admin.js";
import { settingsPage, smsTemplatesSection } from "./lp.js";
import { endpointsPage } from "./endpoints.js";
import { badge, failure, h, heading, isCurrent, newToken, notice, pct, perSecond, setMain, table, useBrand, when,
  put } from "./ui.js";
import { wizardPage } from "./wizard.js";

const TERMINAL = ["SENT", "DELIVERED", "UNDELIVERED", "FAILED", "SKIPPED", "RESPONDED"];
const SUCCEEDED = ["SENT", "DELIVERED", "RESPONDED"];
const STATUSES = ["PENDING", "SCHEDULED", "QUEUED", "SENDING", "SENT", "DELIVERED",
  "UNDELIVERED", "FAILED", "SKIPPED", "RESPONDED"];


function signInPage(next, message) {
  document.getElementById("nav").hidden = true;
  const key = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true,
    spellcheck: "false" });
  const out = h("div", { id: "signin-result", "aria-live": "polite" },
    message ? notice("error", message) : null);
  const form = h("form", { class: "card narrow", onsubmit: async (event) => {
    event.preventDefault();
    put(out, notice("info", "Checking the key…"));
    try {
      await api("GET", "campaigns?limit=1", { key: key.value.trim() });
    } catch (err) {
      if (err.status === 403 && !err.missing) {
        put(out, notice("error", "This key belongs to an agent role. Agents and agent " +
          "managers have no access to the web tool; ask a brand admin for a campaign manager key."));
      } else if (err.status === 401) {
        put(out, notice("error", "This API key is not valid (unknown or revoked)."));
      } else {
        put(out, notice("error", `Could not sign in: ${err.message}`));
      }
      return;
    }
    session.signIn(key.value.trim());
    location.hash = next && next !== "#/signin" ? next : "#/";
    route();
  } },
  h("h1", {}, "Sign in"),
  h("p", {}, "Use an API key of your brand (admin or campaign manager). It is kept only in " +
    "this browser tab and forgotten when the tab closes."),
  h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"), key),
  h("button", { type: "submit", class: "primary" }, "Sign in"),
  out);
  setMain(form);
  key.focus();
}

function campaignMetrics(c) {
  if (c.metrics) return c.metrics;
  const n = (s) => (c.counts && c.counts[s]) || 0;
  const sent = n("SENT") + n("DELIVERED") + n("UNDELIVERED") + n("RESPONDED");
  const failed = n("FAILED");
  return {
    recipients: c.recipients,
    sent,
    failed,
    success_rate: sent + failed ? sent / (sent + failed) : null,
    response_rate: sent ? n("RESPONDED") / sent : null,
  };
}

async function landingPage(token) {
  const list = h("div", { id: "campaign-list" }, notice("info", "Loading campaigns…"));
  const headline = h("section", { id: "headline", "aria-labelledby": "headline-h" },
    h("h2", { id: "headline-h" }, "Last 30 days"), notice("info", "Loading…"));
  const downloadOut = h("div", { "aria-live": "polite" });
  const showDiscarded = h("input", { type: "checkbox", id: "show-discarded" });
  setMain(
    h("div", { class: "title-row" }, heading("Campaigns"),
      h("div", { class: "actions" },
        h("a", { class: "button primary", href: "#/new" }, "New campaign"),
        h("button", { type: "button", onclick: async () => {
          put(downloadOut, );
          try {
            await download("campaigns.csv", "campaigns.csv");
          } catch (err) {
            put(downloadOut, failure(err, "Campaign downloads"));
          }
        } }, "Download all campaigns (CSV)"))),
    downloadOut, headline,
    h("section", { "aria-labelledby": "recent-h" },
      h("div", { class: "title-row" }, h("h2", { id: "recent-h" }, "Recent campaigns"),
        h("label", { class: "inline" }, showDiscarded, " Show discarded drafts")),
      list));

  get("analytics?range=last_30_days").then((data) => {
    const t = data.totals || {};
    const r = data.rates || {};
    put(headline, h("h2", { id: "headline-h" }, "Last 30 days"),
      h("dl", { class: "tiles" },
        h("div", {}, h("dt", {}, "Success rate"), h("dd", { "data-metric": "success_rate" }, pct(r.success_rate))),
        h("div", {}, h("dt", {}, "Response rate"), h("dd", { "data-metric": "response_rate" }, pct(r.response_rate))),
        h("div", {}, h("dt", {}, "Opt-out rate"), h("dd", { "data-metric": "opt_out_rate" }, pct(r.opt_out_rate)),
          h("p", { class: "hint" }, `${t.opted_out ?? 0} consumer${t.opted_out === 1 ? "" : "s"} opted out`)),
        h("div", {}, h("dt", {}, "Messages sent"), h("dd", { "data-metric": "sent" }, t.sent ?? "—"))));
  }).catch((err) => {
    put(headline, h("h2", { id: "headline-h" }, "Last 30 days"), failure(err, "Analytics"));
  });

  let items = [];
  let cursor = null;
  const draw = () => {
    const shown = items.filter((c) => showDiscarded.checked
      || !(c.status === "CANCELLED" && !c.consent));
    if (!shown.length) {
      put(list, notice("info", "No campaigns yet. Start one with “New campaign”."));
      return;
    }
    const rows = shown.map((c) => {
      const m = campaignMetrics(c);
      return h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `#/campaigns/${c.id}` }, c.name)),
        h("td", {}, c.channel), h("td", { class: "num" }, c.recipients),
        h("td", {}, when(c.launched_at || c.schedule?.launch_at)),
        h("td", {}, badge(c.status)),
        h("td", { class: "num" }, pct(m.success_rate)), h("td", { class: "num" }, pct(m.response_rate)),
        h("td", { class: "num" }, pct(m.opt_out_rate)));
    });
    put(list, table("Recent campaigns",
      ["Name", "Channel", "Recipients", "Launch", "Status", "Success", "Response", "Opt-out"], rows,
      { id: "campaigns-table" }),
    cursor ? h("button", { type: "button", onclick: () => load(cursor) }, "More campaigns") : null);
  };
  const load = async (from) => {
    try {
      const page = await get(`campaigns?limit=50${from ? `&cursor=${encodeURIComponent(from)}` : ""}`);
      if (!isCurrent(token)) return;
      items = items.concat(page.items || []);
      cursor = page.next_cursor;
      draw();
    } catch (err) {
      put(list, failure(err, "Campaigns"));
    }
  };
  showDiscarded.addEventListener("change", draw);
  await load(null);
}

function progress(c) {
  const counts = c.counts || {};
  const total = c.recipients || 0;
  const done = TERMINAL.reduce((n, s) => n + (counts[s] || 0), 0);
  const bar = h("div", { class: "stack", role: "progressbar", "aria-label": "Recipients done",
    "aria-valuemin": "0", "aria-valuemax": String(total), "aria-valuenow": String(done) },
  STATUSES.filter((s) => counts[s]).map((s) => h("span", {
    class: `seg s-${s.toLowerCase()}`, style: { width: `${total ? (100 * counts[s]) / total : 0}%` },
    title: `${s}: ${counts[s]}` })));
  return h("section", { id: "progress", "aria-labelledby": "progress-h" },
    h("h2", { id: "progress-h" }, "Progress"),
    h("p", {}, `${done} of ${total} recipients done`),
    bar,
    h("ul", { class: "legend", id: "status-counts" },
      STATUSES.filter((s) => counts[s]).map((s) => h("li", { "data-status": s },
        h("span", { class: `dot s-${s.toLowerCase()}`, "aria-hidden": "true" }),
        `${s} ${counts[s]}`))));
}

async function campaignPage(token, id) {
  let campaign;
  try {
    campaign = await get(`campaigns/${encodeURIComponent(id)}`);
  } catch (err) {
    setMain(heading("Campaign"), failure(err, "This campaign"));
    return;
  }
  if (!isCurrent(token)) return;
  const header = h("div", { class: "title-row" });
  const facts = h("section", { "aria-label": "Campaign details" });
  const progressBox = h("div");
  const actionsOut = h("div", { "aria-live": "polite", id: "campaign-actions-result" });
  const actions = h("div", { class: "actions" });
  const statusFilter = h("select", { id: "recipient-status" },
    h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s }, s)));
  const recipients = h("div", { id: "recipients" });
  const analytics = h("section", { id: "campaign-analytics", "aria-labelledby": "ca-h" },
    h("h2", { id: "ca-h" }, "Analytics"));
  let cursor = null;

  const drawHeader = (c) => {
    put(header, heading(c.name), h("span", { id: "campaign-status" }, badge(c.status)));
    const s = c.schedule || {};
    put(facts, h("dl", { class: "facts" },
      h("dt", {}, "Channel"), h("dd", {}, c.channel),
      h("dt", {}, "From"), h("dd", {}, c.from_number),
      h("dt", {}, "Skill"), h("dd", {}, c.skill),
      h("dt", {}, c.template_id ? "Template" : "Text"), h("dd", { class: "pre" }, c.template_id || c.text),
      h("dt", {}, "Send rate"), h("dd", {}, perSecond(s.send_rate)),
      h("dt", {}, "Window"), h("dd", {}, `${s.window?.start}–${s.window?.end} recipient time`),
      h("dt", {}, "Launch"), h("dd", {}, c.launched_at ? when(c.launched_at)
        : s.launch_at ? `scheduled for ${when(s.launch_at)}` : "not launched"),
      h("dt", {}, "Created by"), h("dd", {}, `${c.created_by || "—"}, ${when(c.created_at)}`),
      c.consent ? [h("dt", {}, "Consent"), h("dd", {}, `${c.consent.by_label || c.consent.by_key_id}, ${when(c.consent.at)}`)] : null,
      c.cancelled_at ? [h("dt", {}, "Cancelled"), h("dd", {}, when(c.cancelled_at))] : null));
    put(progressBox, progress(c));
    const cancellable = ["DRAFT", "SCHEDULED", "RUNNING"].includes(c.status);
    put(actions, 
      cancellable ? h("button", { type: "button", class: "danger", id: "cancel-campaign",
        onclick: () => confirmCancel() }, "Cancel campaign") : null,
      h("button", { type: "button", onclick: async () => {
        put(actionsOut, );
        try {
          await download(`campaigns/${encodeURIComponent(c.id)}/messages.csv`, `${c.id}-messages.csv`);
        } catch (err) {
          put(actionsOut, failure(err, "Message downloads"));
        }
      } }, "Download messages (CSV)"),
      h("a", { class: "button", href: `#/new?copy=${encodeURIComponent(c.id)}` }, "Copy as a new campaign"));
  };

  const confirmCancel = () => {
    put(actionsOut, h("div", { class: "notice warning", role: "alertdialog",
      "aria-label": "Confirm cancel" },
    h("p", {}, "Cancel this campaign? Messages not yet sent will never go out."),
    h("button", { type: "button", class: "danger", id: "confirm-cancel", onclick: async () => {
      try {
        const c = await post(`campaigns/${encodeURIComponent(id)}/cancel`);
        put(actionsOut, notice("success", "The campaign is cancelled."));
        drawHeader(c);
      } catch (err) {
        put(actionsOut, notice("error", `Could not cancel: ${err.message}`));
      }
    } }, "Yes, cancel it"),
    " ",
    h("button", { type: "button", onclick: () => put(actionsOut, ) }, "Keep it")));
    actionsOut.querySelector("#confirm-cancel").focus();
  };

  const loadRecipients = async (more) => {
    const status = statusFilter.value;
    const qs = `limit=100${status ? `&status=${status}` : ""}${more && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    try {
      const page = await get(`campaigns/${encodeURIComponent(id)}/messages?${qs}`);
      if (!isCurrent(token)) return;
      cursor = page.next_cursor;
      const rows = (page.items || []).map((m) => h("tr", { "data-phone": m.phone },
        h("th", { scope: "row" }, m.phone), h("td", {}, badge(m.status)),
        // A reason is history once the message went out (e.g. RESCHEDULED before it was SENT).
        h("td", {}, SUCCEEDED.includes(m.status) ? "" : [m.error_code, m.reason].filter(Boolean).join(": ")),
        h("td", {}, when(m.sent_at || m.due_at)), h("td", { class: "num" }, m.attempts)));
      const tableEl = table("Recipients", ["Phone", "Status", "Error", "Sent / due", "Attempts"],
        rows, { id: "recipients-table" });
      if (more) {
        recipients.querySelector("tbody")?.append(...rows);
      } else {
        put(recipients, rows.length ? tableEl : notice("info", "No recipients with this status."));
      }
      recipients.querySelector(".more")?.remove();
      if (cursor) {
        recipients.append(h("button", { type: "button", class: "more", onclick: () => loadRecipients(true) },
          "More recipients"));
      }
    } catch (err) {
      put(recipients, failure(err, "Recipients"));
    }
  };
  statusFilter.addEventListener("change", () => loadRecipients(false));

  setMain(header, facts, actions, actionsOut, progressBox,
    h("section", { "aria-labelledby": "rcp-h" },
      h("div", { class: "title-row" }, h("h2", { id: "rcp-h" }, "Recipients"),
        h("div", { class: "field inline" }, h("label", { for: "recipient-status" }, "Show"), statusFilter)),
      recipients),
    analytics);
  drawHeader(campaign);
  await loadRecipients(false);
  campaignAnalytics(analytics, id);
  let analyzed = { done: null, at: Date.now() };
  const refreshAnalytics = (c, force) => {
    // While it sends: when more recipients are done, at most every 10 s; once more at the end.
    const now = done(c);
    if (now === analyzed.done || (!force && Date.now() - analyzed.at < 10000)) return;
    analyzed = { done: now, at: Date.now() };
    campaignAnalytics(analytics, id, true);
  };

  // Live progress while anything can still change.
  const waiting = (c) => ["PENDING", "SCHEDULED", "QUEUED", "SENDING"].some((s) => c.counts?.[s]);
  const done = (c) => TERMINAL.reduce((n, s) => n + (c.counts?.[s] || 0), 0);
  const live = (c) => (c.status === "SCHEDULED")
    || (c.status === "RUNNING" && (waiting(c) || done(c) < c.recipients))
    || (c.status === "CANCELLED" && waiting(c));
  while (isCurrent(token) && live(campaign)) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (!isCurrent(token)) return;
    try {
      campaign = await get(`campaigns/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      continue;
    }
    if (!isCurrent(token)) return;
    drawHeader(campaign);
    if (!cursor) await loadRecipients(false);
    refreshAnalytics(campaign, !live(campaign));
  }
}

// The brand's time zone and locale, read once per sign-in: every date in the tool is the brand's.
let brandLoaded = null;
function brandSettings() {
  if (!brandLoaded) {
    brandLoaded = get("brand").then(useBrand, () => { brandLoaded = null; });
  }
  return brandLoaded;
}

// Pages only some roles may use, and a read that tells whether this key may: a page or menu
// item the key may not use is not shown (the API would answer 403).
// admin: not a page; whether the key may use admin-only actions (e.g. archive a template)
const RESTRICTED = { optouts: "optouts?limit=1", settings: "api-client", endpoints: "event-endpoints",
  admin: "audit?limit=1" };
let accessLoaded = null;
function pageAccess() {
  if (!accessLoaded) {
    accessLoaded = Promise.all(Object.entries(RESTRICTED).map(([page, probe]) => get(probe).then(
      () => [page, true], (err) => [page, !(err instanceof ApiError && err.status === 403 && !err.missing)])))
      .then((pairs) => {
        const access = Object.fromEntries(pairs);
        for (const link of document.querySelectorAll("#nav a")) {
          const page = link.getAttribute("href").replace(/^#\//, "");
          if (page in access) link.hidden = !access[page];
        }
        return access;
      });
  }
  return accessLoaded;
}

export function route() {
  const token = newToken();
  const hash = location.hash || "#/";
  if (!session.key()) {
    signInPage(hash);
    return;
  }
  document.getElementById("nav").hidden = false;
  for (const link of document.querySelectorAll("#nav a")) {
    const current = link.getAttribute("href") === hash.split("?")[0];
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const pages = {
    "": () => landingPage(token),
    new: () => wizardPage(token, params),
    analytics: () => analyticsPage(token, params),
    templates: (access) => templatesPage(token, { admin: access.admin === true }).then(() => (isCurrent(token) ? smsTemplatesSection() : null)),
    settings: () => settingsPage(token),
    optouts: () => optOutsPage(token),
    endpoints: () => endpointsPage(token),
    campaigns: () => (parts[1] ? campaignPage(token, decodeURIComponent(parts[1])) : landingPage(token)),
    signin: () => { location.hash = "#/"; },
  };
  const page = pages[parts[0] || ""];
  if (!page) {
    setMain(heading("Not found"), notice("error", "There is no such page."), h("a", { href: "#/" }, "Campaigns"));
    return;
  }
  Promise.all([brandSettings(), pageAccess()]).then(([, access]) => {
    if (!isCurrent(token)) return null;
    if (access[parts[0]] === false) {
      setMain(heading("Not available"), notice("info", "This page is for the brand's admins; " +
        "your key's role does not include it."), h("a", { href: "#/" }, "Campaigns"));
      return null;
    }
    return page(access);
  }).catch((err) => {
    setMain(heading("Something went wrong"), notice("error", err.message));
  });
  document.getElementById("main").focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
window.addEventListener("signed-out", (event) => {
  session.signOut();
  brandLoaded = null;
  accessLoaded = null;
  newToken();
  signInPage(location.hash, `You were signed out: ${event.detail}`);
});
document.getElementById("signout").addEventListener("click", () => {
  session.signOut();
  brandLoaded = null;
  accessLoaded = null;
  location.hash = "#/";
  route();
});
route();
