// Admin pages: WhatsApp templates and opt-outs.
import { api, downloadPages, get, itemsOf, post } from "./api.js";
import { badge, failure, field, h, heading, latestOnly, notice, setMain, table, when, put } from "./ui.js";

const idOf = (t) => t.template_id || t.id;
// A new template is DRAFT; only a DRAFT can be submitted (a rejected one is re-created).
const SUBMITTABLE = (status) => status === "DRAFT";

// Admins (`admin`: the key's role may use the admin API) also archive, restore and delete
// templates whatever their approval; campaign managers see no such buttons.
export async function templatesPage(token, { admin = false } = {}) {
  const list = h("div", { id: "templates-list" }, notice("info", "Loading templates…"));
  const out = h("div", { "aria-live": "polite", id: "template-result" });
  const showArchived = h("input", { type: "checkbox", id: "tpl-archived", onchange: () => load() });
  const path = (t, action = "") => `templates/${encodeURIComponent(idOf(t))}${action}`;
  const act = async (doing, request, done) => {
    try {
      await request();
      put(out, notice("success", done));
      load();
    } catch (err) {
      put(out, notice("error", `Could not ${doing}: ${err.message}`));
    }
  };
  const confirmDelete = (t) => {
    put(out, h("div", { class: "notice warning", role: "alertdialog", "aria-label": "Confirm delete" },
      h("p", {}, `Delete the template “${t.name}”? This cannot be undone; campaigns that may ` +
        "still send with it must be cancelled first (or archive it instead)."),
      h("button", { type: "button", class: "danger", id: "confirm-delete", onclick: () =>
        act("delete", () => api("DELETE", path(t)), `“${t.name}” was deleted.`) }, `Yes, delete ${t.name}`),
      " ",
      h("button", { type: "button", onclick: () => put(out) }, "Keep it")));
    out.querySelector("#confirm-delete").focus();
  };
  const adminButtons = (t) => (admin ? [
    t.archived_at
      ? h("button", { type: "button", onclick: () => act("restore", () => post(path(t, "/unarchive")),
        `“${t.name}” is back in the list.`) }, `Restore ${t.name}`)
      : h("button", { type: "button", onclick: () => act("archive", () => post(path(t, "/archive")),
        `“${t.name}” was archived; campaigns using it keep it.`) }, `Archive ${t.name}`),
    " ",
    h("button", { type: "button", class: "danger", onclick: () => confirmDelete(t) }, `Delete ${t.name}`),
  ] : []);
  const name = h("input", { id: "tpl-name", required: true, pattern: "[a-z0-9_]+", autocomplete: "off" });
  const language = h("input", { id: "tpl-language", value: "en_US", required: true });
  const category = h("select", { id: "tpl-category" },
    ["MARKETING", "UTILITY", "AUTHENTICATION"].map((c) => h("option", { value: c }, c)));
  const body = h("textarea", { id: "tpl-body", rows: "4", required: true });

  const load = latestOnly(async (current) => {
    try {
      const items = itemsOf(await get(showArchived.checked ? "templates?status=ARCHIVED" : "templates"),
        "templates");
      if (!current()) return;
      put(list, items.length ? table("Templates", ["Name", "Language", "Category", "Body", "Status", ""],
        items.map((t) => h("tr", { "data-template": t.name },
          h("th", { scope: "row" }, t.name), h("td", {}, t.language), h("td", {}, t.category),
          h("td", { class: "pre" }, t.body),
          h("td", {}, badge(t.status), t.reason ? h("p", { class: "hint" }, t.reason) : null),
          h("td", {}, SUBMITTABLE(t.status) ? h("button", { type: "button", onclick: async () => {
            try {
              await post(`templates/${encodeURIComponent(idOf(t))}/submit`);
              put(out, notice("success", `“${t.name}” was submitted for approval.`));
              load();
            } catch (err) {
              put(out, notice("error", `Could not submit: ${err.message}`));
            }
          } }, `Submit ${t.name} for approval`) : "", " ", ...adminButtons(t)))), { id: "templates-table" })
        : notice("info", showArchived.checked ? "No archived templates." : "No templates yet."));
    } catch (err) {
      if (current()) put(list, failure(err, "Templates"));
    }
  });

  setMain(heading("WhatsApp templates"),
    h("p", {}, "Templates are approved by WhatsApp before campaigns can use them. Variables are " +
      "written {{1}}, {{2}}, … and each recipient line gives them in order."),
    admin ? field("Show archived templates", showArchived,
      "Archived templates are not offered by the campaign wizard; campaigns using them keep them.") : null,
    list,
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const t = await post("templates", { name: name.value.trim(), language: language.value.trim(),
          category: category.value, body: body.value });
        put(out, notice("success", `Template “${t.name || name.value}” created; submit it for approval.`));
        e.target.reset();
        load();
      } catch (err) {
        put(out, err.missing ? failure(err, "Templates") : notice("error", err.message));
      }
    } },
    h("h2", {}, "New template"),
    field("Name", name, "Lower case letters, digits and underscores, e.g. winter_sale."),
    field("Language", language, "e.g. en_US, es_MX"),
    field("Category", category),
    field("Body", body, "e.g. Hi {{1}}, your order {{2}} is on its way."),
    h("button", { type: "submit", class: "primary" }, "Create template"),
    out));
  await load();
}

// Where an opt-out came from (GET /optouts "source"): it decides whether the consumer's START
// lifts it (an admin's only when the brand allows it, setting keyword_lifts_admin_optouts).
const SOURCES = {
  keyword: (o) => `Consumer texted ${o.keyword || "a keyword"}${o.number ? ` to ${o.number}` : ""}`,
  admin: (o) => `Added by an admin${o.by ? ` (${o.by})` : ""}`,
  gateway: () => "Reported by the carrier",
};
const sourceOf = (o) => (SOURCES[o.source] || (() => o.source || "—"))(o);

export async function optOutsPage() {
  const list = h("div", { id: "optouts-list" }, notice("info", "Loading opt-outs…"));
  const out = h("div", { "aria-live": "polite", id: "optout-result" });
  const search = h("input", { id: "optout-search", type: "search", inputmode: "tel", placeholder: "+1 212 555 0101" });
  const add = h("input", { id: "optout-add", inputmode: "tel", required: true, placeholder: "+1 212 555 0101" });

  const load = latestOnly(async (current) => {
    const phone = search.value.trim();
    try {
      const items = itemsOf(await get(`optouts?limit=100${phone ? `&phone=${encodeURIComponent(phone)}` : ""}`), "optouts");
      if (!current()) return;
      put(list, items.length ? table("Opted-out numbers", ["Number", "Since", "Source", ""],
        items.map((o) => h("tr", { "data-phone": o.phone, "data-source": o.source || "" },
          h("th", { scope: "row" }, o.phone), h("td", {}, when(o.created_at || o.opted_out_at || o.at)),
          h("td", { class: "optout-source" }, sourceOf(o)),
          h("td", {}, h("button", { type: "button", onclick: async () => {
            try {
              await api("DELETE", `optouts/${encodeURIComponent(o.phone)}`);
              put(out, notice("success", `${o.phone} may receive messages again.`));
              load();
            } catch (err) {
              put(out, notice("error", `Could not remove: ${err.message}`));
            }
          } }, `Remove ${o.phone}`)))), { id: "optouts-table" })
        : notice("info", phone ? "This number has not opted out." : "Nobody has opted out."));
    } catch (err) {
      if (current()) put(list, failure(err, "Opt-outs"));
    }
  });

  setMain(heading("Opt-outs"),
    h("p", {}, "An opted-out consumer gets no message from any of the brand's numbers until they " +
      "opt back in (START) or are removed here. START does not lift an opt-out added by an admin " +
      "unless the brand's settings allow it."),
    h("form", { class: "row", role: "search", onsubmit: (e) => { e.preventDefault(); load(); } },
      field("Search a number", search), h("button", { type: "submit" }, "Search"),
      h("button", { type: "button", onclick: async () => {
        try { await downloadPages("optouts?format=csv", "optouts.csv"); } catch (err) { put(out, failure(err, "Opt-out downloads")); }
      } }, "Download (CSV)")),
    list,
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api("PUT", `optouts/${encodeURIComponent(add.value.trim())}`, { json: {} });
        put(out, notice("success", `${add.value.trim()} is opted out.`));
        add.value = "";
        load();
      } catch (err) {
        put(out, err.missing ? failure(err, "Opt-outs") : notice("error", err.message));
      }
    } },
    h("h2", {}, "Add an opt-out"),
    field("Phone number", add, "With country code. The number gets no further messages from the brand."),
    h("button", { type: "submit", class: "primary" }, "Opt out this number"),
    out));
  await load();
}
