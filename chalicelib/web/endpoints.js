// Admin page: the brand's event endpoints (webhooks to its own systems) and the
// deliveries that failed for 24 h. The API: POST/GET/DELETE event-endpoints,
// GET event-deliveries/failed, POST event-deliveries/failed/{id}/redeliver.
import { api, get, post } from "./api.js";
import { failure, field, h, heading, latestOnly, notice, setMain, table, when, put } from "./ui.js";

const EVENTS = ["message.sent", "message.delivered", "message.failed", "message.responded",
  "consumer.opted_out", "consumer.opted_in", "campaign.completed"];

export async function endpointsPage() {
  const list = h("div", { id: "endpoints-list" }, notice("info", "Loading endpoints…"));
  const failed = h("div", { id: "failed-deliveries" });
  const out = h("div", { "aria-live": "polite", id: "endpoint-result" });
  const url = h("input", { id: "endpoint-url", type: "url", required: true, placeholder: "https://crm.example.com/events" });
  const boxes = EVENTS.map((name) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: name, name: "endpoint-event", checked: true }), ` ${name}`));

  const load = latestOnly(async (current) => {
    try {
      const items = (await get("event-endpoints")).items || [];
      const dead = (await get("event-deliveries/failed?limit=50")).items || [];
      if (!current()) return;
      put(list, items.length ? table("Event endpoints", ["URL", "Events", "Added", ""],
        items.map((e) => h("tr", { "data-endpoint": e.id },
          h("th", { scope: "row" }, e.url), h("td", {}, e.events.join(", ")), h("td", {}, when(e.created_at)),
          h("td", {}, h("button", { type: "button", onclick: async () => {
            try {
              await api("DELETE", `event-endpoints/${encodeURIComponent(e.id)}`);
              put(out, notice("success", `${e.url} removed.`));
              load();
            } catch (err) {
              put(out, notice("error", `Could not remove: ${err.message}`));
            }
          } }, `Remove ${e.url}`)))), { id: "endpoints-table" })
        : notice("info", "No endpoints yet."));
      put(failed, dead.length ? table("Failed deliveries (24 h of retries)", ["Event", "URL", "Failed", "Last error", ""],
        dead.map((d) => h("tr", { "data-delivery": d.id },
          h("th", { scope: "row" }, `${d.event.type} ${d.event.id}`), h("td", {}, d.url), h("td", {}, when(d.failed_at)),
          h("td", {}, d.last_error),
          h("td", {}, h("button", { type: "button", onclick: async () => {
            try {
              await post(`event-deliveries/failed/${encodeURIComponent(d.id)}/redeliver`);
              put(out, notice("success", "Queued again."));
              load();
            } catch (err) {
              put(out, notice("error", `Could not redeliver: ${err.message}`));
            }
          } }, "Redeliver")))), { id: "failed-table" }) : "");
    } catch (err) {
      if (current()) put(list, failure(err, "Event endpoints"));
    }
  });

  setMain(heading("Event endpoints"),
    h("p", {}, "Your systems receive signed events (HMAC-SHA256, header X-Proactive-Signature) at " +
      "these URLs, retried for 24 hours. See docs/api.md for the body and how to check the signature."),
    list, failed,
    h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const events = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      try {
        const created = await post("event-endpoints", { url: url.value.trim(), events });
        put(out, notice("success", "Endpoint added. Its signing secret is shown only now: "),
          h("code", { id: "endpoint-secret" }, created.secret));
        url.value = "";
        load();
      } catch (err) {
        put(out, err.missing ? failure(err, "Event endpoints") : notice("error", err.message));
      }
    } },
    h("h2", {}, "Add an endpoint"),
    field("URL", url, "https only."),
    h("fieldset", {}, h("legend", {}, "Events"), ...boxes),
    h("button", { type: "submit", class: "primary" }, "Add endpoint"),
    out));
  await load();
}
