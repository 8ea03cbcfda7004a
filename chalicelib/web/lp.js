// SMS templates (on the templates page, beside the WhatsApp ones) and Settings, where
// an admin enables the LivePerson-compatible API (the client secret is shown once), rotates or
// revokes its credentials.
import { api, get, itemsOf, post } from "./api.js";
import { failure, field, h, heading, latestOnly, notice, put, setMain, table, when } from "./ui.js";

export async function smsTemplatesSection() {
  const main = document.getElementById("main");
  const list = h("div", { id: "sms-templates-list" }, notice("info", "Loading SMS templates…"));
  const out = h("div", { "aria-live": "polite", id: "sms-template-result" });
  const name = h("input", { id: "sms-tpl-name", required: true, autocomplete: "off" });
  const text = h("textarea", { id: "sms-tpl-text", rows: "3", required: true, maxlength: "1600" });
  const makeDefault = h("input", { id: "sms-tpl-default", type: "checkbox" });

  const load = latestOnly(async (current) => {
    try {
      const items = itemsOf(await get("sms-templates"), "sms-templates");
      if (!current()) return;
      put(list, items.length ? table("SMS templates", ["Name", "Text", "Default", ""],
        items.map((t) => h("tr", { "data-sms-template": t.name },
          h("th", { scope: "row" }, t.name), h("td", { class: "pre" }, t.text),
          h("td", {}, t.default ? "Default (id 1234567890)" : ""),
          h("td", {}, t.default ? "" : h("button", { type: "button", onclick: async () => {
            try {
              await api("PATCH", `sms-templates/${encodeURIComponent(t.id)}`, { json: { default: true } });
              put(out, notice("success", `“${t.name}” is now the default SMS template.`));
              load();
            } catch (err) {
              put(out, notice("error", err.message));
            }
          } }, `Make ${t.name} the default`)))), { id: "sms-templates-table" })
        : notice("info", "No SMS templates yet."));
    } catch (err) {
      if (current()) put(list, failure(err, "SMS templates"));
    }
  });

  main.append(h("section", { id: "sms-templates", "aria-labelledby": "sms-templates-heading" },
    h("h2", { id: "sms-templates-heading" }, "SMS templates"),
    h("p", {}, "No approval step: an SMS template can be used as soon as it is saved. The default " +
      "one is templateId 1234567890 of the LivePerson-compatible API."),
    list,
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const t = await post("sms-templates", { name: name.value.trim(), text: text.value,
          default: makeDefault.checked });
        put(out, notice("success", `SMS template “${t.name}” saved.`));
        e.target.reset();
        load();
      } catch (err) {
        put(out, err.missing ? failure(err, "SMS templates") : notice("error", err.message));
      }
    } },
    h("h3", {}, "New SMS template"),
    field("SMS template title", name),
    field("SMS text", text, "e.g. Hi {{1}}, your plan renews on {{2}}."),
    field("Make it the default", makeDefault),
    h("button", { type: "submit", class: "primary" }, "Save SMS template"),
    out)));
  await load();
}

export async function settingsPage() {
  const state = h("div", { id: "api-client" }, notice("info", "Loading…"));
  const out = h("div", { "aria-live": "polite", id: "api-client-result" });
  const shown = (answer, what) => put(out, notice("success", `${what}. Client id: ${answer.client_id} — ` +
    `client secret: ${answer.client_secret} (shown only now; store it safely).`));
  const act = async (doing, what) => {
    try {
      const answer = await doing();
      if (answer.client_secret) shown(answer, what); else put(out, notice("success", what));
      load();
    } catch (err) {
      put(out, notice("error", err.message));
    }
  };
  const load = latestOnly(async (current) => {
    try {
      const client = await get("api-client");
      if (!current()) return;
      put(state, client.enabled
        ? h("div", {},
          h("p", {}, `The API is enabled. Client id: ${client.client_id}` +
            (client.rotated_at ? `, rotated ${when(client.rotated_at)}` : "")),
          h("button", { type: "button", onclick: () => act(() => post("api-client/rotate"),
            "New credentials") }, "Rotate credentials"), " ",
          h("button", { type: "button", onclick: () => act(() => api("DELETE", "api-client"),
            "The API is disabled; its tokens no longer work") }, "Revoke"))
        : h("div", {}, h("p", {}, "The API is not enabled."),
          h("button", { type: "button", class: "primary", onclick: () => act(() => post("api-client"),
            "The API is enabled") }, "Enable API")));
    } catch (err) {
      if (current()) put(state, failure(err, "Settings"));
    }
  });
  setMain(heading("Settings"),
    h("section", { class: "card", "aria-labelledby": "api-heading" },
      h("h2", { id: "api-heading" }, "API (LivePerson Proactive 2.0 compatible)"),
      h("p", {}, "Clients written for LivePerson's Proactive Messaging API work with these " +
        "credentials by changing only the host name. Only admins manage them; every change is in the audit log."),
      state, out));
  await load();
}
