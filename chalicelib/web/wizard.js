// New campaign: four steps (compose, recipients, schedule, preview and launch), nothing lost
// between them. The DRAFT campaign is created as late as the API allows: for a CSV upload or
// (without POST /recipients/parse) for parsing a typed list. If compose or schedule change
// afterwards, PATCH /campaigns/{id} changes the draft in place; when the new content made the
// API forget the stored list (`recipients_cleared`), the recipients the user gave (kept in
// `state.recipients`) are attached again before the preview. On a server without that PATCH
// the draft is replaced by a fresh one and the old one cancelled ("discarded draft", hidden on
// the landing page), as the Discard button does.
import { ApiError, api, get, itemsOf, post } from "./api.js";
import { OPT_OUT_RESERVED, SINGLE_LIMIT, refusal, reservedOptOut, smsInfo, withOptOut } from "./sms.js";
import { duration, failure, field, h, heading, isCurrent, newId, notice, perSecond, setMain, table, put, when, zoneName,
  zonedIso } from "./ui.js";

const TYPED_MAX = 100;
const STEPS = ["Compose", "Recipients", "Schedule", "Preview and launch"];
const STEP_OF_FIELD = { name: 1, channel: 1, from_number: 1, fallback_from_number: 1, skill: 1,
  text: 1, template_id: 1, allow_multi_segment: 1, schedule: 3 };

const fresh = () => ({
  step: 1,
  compose: { name: "", channel: "sms", from_number: "", fallback_from_number: "", skill: "",
    text: "", template_id: "", allow_multi_segment: false },
  recipients: { mode: "typed", typed: "", file: null, result: null, resultKey: null, upload: null },
  // window: null until the brand's default sending window (GET /brand) fills it in
  schedule: { start: "now", date: "", time: "", window_start: null, window_end: null, send_rate: 1,
    hold_open_conversations: true },
  draft: null,
  setup: null,
});
let state = fresh();

// --- what the brand has: sender numbers, skills, templates, opt-out text ---

async function loadSetup() {
  const attempt = async (path) => {
    try { return { data: await get(path) }; } catch (err) { return { error: err }; }
  };
  const [brand, numbers, skills, templates] = await Promise.all([
    attempt("brand"), attempt("numbers"), attempt("skills"), attempt("templates?status=APPROVED")]);
  return {
    brand: brand.data || null,
    numbers: numbers.data ? itemsOf(numbers.data, "numbers").filter((n) => !n.retired) : null,
    skills: skills.data ? itemsOf(skills.data, "skills").filter((s) => !s.retired) : null,
    templates: templates.data ? itemsOf(templates.data, "templates")
      .filter((t) => !t.status || t.status === "APPROVED") : null,
    templatesError: templates.error || null,
  };
}

const numberOf = (n) => n.number || n.phone || n.e164 || "";
const skillIdOf = (s) => s.skill_id || s.id || s.name;
const templateIdOf = (t) => t.template_id || t.id;
const optOutText = () => state.setup?.brand?.opt_out_text ?? null;
// The brand's default sending window (PUT /brand `window`); 08:00–21:00 on a server without it.
const brandWindow = () => ({ start: state.setup?.brand?.window?.start || "08:00",
  end: state.setup?.brand?.window?.end || "21:00" });

// --- the campaign as the API takes it ------------------------------------------------------

function campaignBody() {
  const c = state.compose;
  const s = state.schedule;
  const body = { name: c.name.trim(), channel: c.channel, from_number: c.from_number.trim(),
    skill: c.skill.trim() };
  if (c.channel === "sms") {
    body.text = c.text;
  } else {
    body.template_id = c.template_id;
  }
  // SMS, and the SMS fallback of a prioritized campaign
  if (c.channel !== "whatsapp") body.allow_multi_segment = c.allow_multi_segment;
  if (c.channel === "prioritized" && c.fallback_from_number) body.fallback_from_number = c.fallback_from_number.trim();
  body.schedule = { send_rate: Number(s.send_rate), window: { start: s.window_start, end: s.window_end } };
  if (s.start === "later") body.schedule.launch_at = zonedIso(s.date, s.time);
  body.schedule.hold_open_conversations = s.hold_open_conversations;
  return body;
}

// What a parse result or an uploaded file's check depends on: the list and what each line is
// rendered and checked with (a change of either makes the shown result stale).
function contentKey() {
  const c = state.compose;
  return JSON.stringify([c.channel, c.channel === "sms" ? c.text : c.template_id,
    c.channel !== "whatsapp" && c.allow_multi_segment]);
}

function recipientsKey() {
  const r = state.recipients;
  if (r.mode === "typed") return `typed:${contentKey()}:${r.typed}`;
  return `${contentKey()}:` + (r.file ? `csv:${r.file.name}:${r.file.size}:${r.file.lastModified}` : "csv:");
}

class StepError extends Error {
  constructor(step, message) { super(message); this.step = step; }
}

function stepOfError(err) {
  const fieldName = (err.details || [])[0]?.field || "";
  return STEP_OF_FIELD[fieldName.split(".")[0]] || null;
}

let patchEndpoint = true; // false once the server said it has no PATCH /campaigns/{id}

// The campaign's fields as a JSON merge patch of the draft: null resets what the body leaves
// out (a start "when launched", the SMS fallback of a channel without one).
function draftPatch(body) {
  return { ...body, fallback_from_number: body.fallback_from_number ?? null,
    schedule: { ...body.schedule, launch_at: body.schedule.launch_at ?? null } };
}

// The draft as compose and schedule now say, or null when it cannot be changed in place.
async function patchDraft(draft, body, key) {
  let changed;
  try {
    changed = await api("PATCH", `campaigns/${encodeURIComponent(draft.id)}`, { json: draftPatch(body) });
  } catch (err) {
    if (err instanceof ApiError && err.missing) {
      patchEndpoint = false;
      return null;
    }
    if (err instanceof ApiError && err.status === 409) return null; // launched or cancelled elsewhere
    throw new StepError(stepOfError(err), err.message);
  }
  draft.key = key;
  // The stored list no longer matches the content: whoever needs it attaches the user's
  // recipients again (the preview step does, as do Parse and Upload).
  if (changed.recipients_cleared) draft.recipientsKey = null;
  return draft;
}

async function ensureDraft() {
  const body = campaignBody();
  const key = JSON.stringify(body);
  if (state.draft && state.draft.key === key) return state.draft;
  const old = state.draft;
  if (old && patchEndpoint) {
    const patched = await patchDraft(old, body, key);
    if (patched) return patched;
  }
  let created;
  try {
    created = await post("campaigns", body);
  } catch (err) {
    throw new StepError(stepOfError(err), err.message);
  }
  state.draft = { id: created.id, key, recipientsKey: null };
  // Without PATCH the old draft is replaced; one that is no longer a DRAFT is left as it is.
  if (old && !patchEndpoint) post(`campaigns/${encodeURIComponent(old.id)}/cancel`).catch(() => {});
  return state.draft;
}

// Typed list through the campaign (the API of the walking skeleton), normalised to the
// per-line shape of POST /recipients/parse.
async function attachTyped(draft) {
  const answer = await api("POST", `campaigns/${encodeURIComponent(draft.id)}/recipients`,
    { text: state.recipients.typed, contentType: "text/plain" });
  draft.recipientsKey = recipientsKey();
  const lines = [...(answer.preview || []), ...(answer.rejected || [])].sort((a, b) => a.line - b.line);
  return { lines, summary: { total: lines.length, valid: answer.accepted, invalid: (answer.rejected || []).length } };
}

let parseEndpoint = true; // false once the server said it has no POST /recipients/parse

async function parseTyped() {
  const c = state.compose;
  if (parseEndpoint) {
    try {
      return await post("recipients/parse", { channel: c.channel, text: c.channel === "sms" ? c.text : undefined,
        template_id: c.channel === "sms" ? undefined : c.template_id,
        allow_multi_segment: c.channel !== "whatsapp" && c.allow_multi_segment, content: state.recipients.typed });
    } catch (err) {
      if (!(err instanceof ApiError && err.missing)) throw err;
      parseEndpoint = false;
    }
  }
  return attachTyped(await ensureDraft());
}

// --- CSV upload through the pre-signed URL -----------------------------------------

function sendFile(target, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(target.method || "POST", target.url);
    // A pre-signed form post: the form's fields, then the file (S3 wants it last). Its signed
    // policy bounds the size; the browser sets the multipart Content-Type itself.
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields || {})) form.append(name, value);
    form.append("file", file);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(`the upload was refused (${xhr.status})`)));
    xhr.onerror = () => reject(new Error("the upload failed (network)"));
    xhr.send(form);
  });
}

const ERRORS_SHOWN = 100;

async function uploadCsv(draft, onProgress, onStatus) {
  const file = state.recipients.file;
  const target = await post(`campaigns/${encodeURIComponent(draft.id)}/recipients/upload`);
  if (target.max_bytes && file.size > target.max_bytes) {
    throw new Error(`the file is ${(file.size / 1e6).toFixed(1)} MB; the limit is ` +
      `${Math.round(target.max_bytes / 1e6)} MB`);
  }
  await sendFile(target, file, onProgress);
  onStatus({ status: "WAITING" });
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const campaign = await get(`campaigns/${encodeURIComponent(draft.id)}`);
    const upload = campaign.upload?.upload_id === target.upload_id ? campaign.upload : { status: "WAITING" };
    onStatus(upload);
    // The file could not be read at all (not UTF-8, over 100,000 rows, empty): say why.
    if (upload.status === "FAILED") throw new Error(`the file could not be read: ${upload.message || "unknown reason"}`);
    if (upload.status === "DONE") {
      draft.recipientsKey = recipientsKey();
      let lines = [];
      if (upload.rejected) {
        const page = await get(`campaigns/${encodeURIComponent(draft.id)}/recipients?errors=true&limit=${ERRORS_SHOWN}`);
        lines = page.items || [];
      }
      return { upload, lines, summary: { total: (upload.accepted || 0) + (upload.rejected || 0),
        valid: upload.accepted || 0, invalid: upload.rejected || 0 } };
    }
  }
}

// --- steps ---------------------------------------------------------------------------------

function stepper() {
  return h("ol", { class: "steps", "aria-label": "Steps" }, STEPS.map((name, i) => h("li",
    { "aria-current": state.step === i + 1 ? "step" : false, class: state.step > i + 1 ? "done" : "" },
    h("span", { class: "n" }, i + 1), ` ${name}`)));
}

function errorSummary(errors) {
  if (!errors.length) return null;
  return h("div", { class: "notice error", role: "alert", tabindex: "-1", id: "step-errors" },
    h("p", {}, errors.length === 1 ? "Please correct this:" : "Please correct these:"),
    h("ul", {}, errors.map(([id, message]) => h("li", {}, id ? h("a", { href: `#${id}`, onclick: (e) => {
      e.preventDefault(); document.getElementById(id)?.focus();
    } }, message) : message))));
}

function smsCounter() {
  const out = h("div", { id: "sms-counter", "aria-live": "polite" });
  const known = optOutText();
  const update = () => {
    const message = withOptOut(state.compose.text, known ?? reservedOptOut());
    const info = smsInfo(message);
    const refused = refusal(info, false);
    const parts = [h("p", { class: info.over || refused ? "counter over" : "counter" },
      h("strong", {}, info.over ? `${-info.left} characters over` : `${info.left} characters left`),
      ` of ${SINGLE_LIMIT}, including the opt-out text · ${info.encoding} · ` +
      `${info.segments} segment${info.segments === 1 ? "" : "s"}`)];
    parts.push(h("p", { class: "hint" }, known !== null
      ? `The opt-out text “${known}” is added on its own line.`
      : `The brand's opt-out text is not available on this server yet: ${OPT_OUT_RESERVED} ` +
        "characters are reserved for it."));
    // What Parse would refuse, said here already, with the choice that allows it.
    if (refused) {
      const allowed = state.compose.allow_multi_segment;
      const warning = notice(allowed ? "warning" : "error", allowed
        ? `Longer messages are allowed: it will be split into ${info.segments} segments (billed as ` +
          `${info.segments} messages).`
        : refused);
      warning.id = "sms-refusal";
      parts.push(warning);
    }
    put(out, ...parts);
    return info;
  };
  update();
  return { el: out, update };
}

function composeStep(body, nav) {
  const c = state.compose;
  const s = state.setup;
  const errors = h("div");
  const name = h("input", { id: "name", maxlength: "255", value: c.name, required: true,
    oninput: (e) => { c.name = e.target.value; } });
  const channelBox = h("fieldset", { id: "channel" }, h("legend", {}, "Channel"),
    [["sms", "SMS"], ["whatsapp", "WhatsApp"], ["prioritized", "Prioritized (WhatsApp, else SMS)"]].map(([value, label]) => {
      const id = `channel-${value}`;
      return h("div", { class: "radio" }, h("input", { type: "radio", name: "channel", id, value,
        checked: c.channel === value, onchange: () => { c.channel = value; draw(); } }),
      h("label", { for: id }, label));
    }));
  const content = h("div");
  const numbers = h("div");
  const skill = h("input", { id: "skill", list: "skill-options", value: c.skill, autocomplete: "off",
    oninput: (e) => { c.skill = e.target.value; } });
  const skillList = h("datalist", { id: "skill-options" }, (s.skills || []).map((k) =>
    h("option", { value: skillIdOf(k) }, k.name || skillIdOf(k))));

  const numberPicker = (id, channel, prop, label) => {
    if (s.numbers) {
      const options = s.numbers.filter((n) => !n.channel || n.channel === channel);
      if (!options.some((n) => numberOf(n) === c[prop])) c[prop] = options[0] ? numberOf(options[0]) : "";
      return field(label, h("select", { id, onchange: (e) => { c[prop] = e.target.value; } },
        options.length ? options.map((n) => h("option", { value: numberOf(n), selected: numberOf(n) === c[prop] },
          `${numberOf(n)}${n.label ? ` (${n.label})` : ""}`))
          : h("option", { value: "" }, `No ${channel} number: an admin adds one`)));
    }
    return field(label, h("input", { id, value: c[prop], inputmode: "tel", autocomplete: "off",
      placeholder: "+1 212 555 0100", oninput: (e) => { c[prop] = e.target.value; } }),
    `One of the brand's ${channel === "sms" ? "SMS" : "WhatsApp"} numbers, with country code. ` +
    "(The list of numbers is not available on this server yet; a wrong number is named when you continue.)");
  };

  const draw = () => {
    put(numbers, numberPicker("from_number", c.channel === "sms" ? "sms" : "whatsapp", "from_number", "From number"),
      c.channel === "prioritized" ? numberPicker("fallback_from_number", "sms", "fallback_from_number", "SMS fallback number") : null);
    if (c.channel === "sms") {
      const counter = smsCounter();
      const allow = h("input", { type: "checkbox", id: "allow-multi", checked: c.allow_multi_segment,
        onchange: (e) => { c.allow_multi_segment = e.target.checked; counter.update(); } });
      put(content, 
        field("Message text", h("textarea", { id: "text", rows: "4", maxlength: "1600", "aria-describedby": "sms-counter",
          oninput: (e) => { c.text = e.target.value; counter.update(); } }, c.text)),
        counter.el,
        h("div", { class: "radio" }, allow, h("label", { for: "allow-multi" },
          "Allow messages longer than one segment (they are split and cost more)")));
    } else if (s.templates === null) {
      put(content, notice("unavailable", "WhatsApp templates are not available on this server " +
        "yet, so WhatsApp and Prioritized campaigns cannot be composed here. Choose SMS."));
    } else {
      const show = h("div", { id: "template-body" });
      const drawTemplate = () => {
        const t = s.templates.find((x) => templateIdOf(x) === c.template_id);
        put(show, t ? h("div", { class: "card" },
          h("p", { class: "pre" }, t.body),
          h("p", { class: "hint" }, `${t.variable_count ?? (t.body.match(/\{\{\d+\}\}/g) || []).length} variable(s): ` +
            "each recipient line gives them in order after the phone number.")) : null);
      };
      // Prioritized: the SMS fallback is the filled-in template with the opt-out text; Parse
      // checks it as an SMS (140 characters, one segment) unless longer messages are allowed.
      const fallbackChoice = c.channel === "prioritized" ? h("div", { class: "radio" },
        h("input", { type: "checkbox", id: "allow-multi", checked: c.allow_multi_segment,
          onchange: (e) => { c.allow_multi_segment = e.target.checked; } }),
        h("label", { for: "allow-multi" }, "Allow SMS fallback messages longer than one segment " +
          "(the template with its variables and the opt-out text; they are split and cost more)")) : null;
      put(content, 
        field("Approved template", h("select", { id: "template_id", onchange: (e) => { c.template_id = e.target.value; drawTemplate(); } },
          h("option", { value: "" }, s.templates.length ? "Choose a template" : "No approved template yet"),
          s.templates.map((t) => h("option", { value: templateIdOf(t), selected: templateIdOf(t) === c.template_id },
            `${t.name} (${t.language})`)))),
        show, fallbackChoice);
      drawTemplate();
    }
  };
  draw();

  body.addEventListener("input", () => put(errors)); // an old complaint goes once the user edits
  body.append(
    field("Campaign name", name, "Agents see it next to replies; up to 255 characters."),
    channelBox, numbers,
    field("Route replies to skill", skill, s.skills ? "Type to search the brand's skills."
      : "The skill's id, e.g. sales (the list of skills is not available on this server yet; " +
        "an unknown skill is named when you continue)."),
    skillList, content, errors);

  nav.next = () => {
    const problems = [];
    if (!c.name.trim()) problems.push(["name", "Give the campaign a name."]);
    if (!c.from_number.trim()) problems.push(["from_number", "Choose the number to send from."]);
    if (!c.skill.trim()) problems.push(["skill", "Choose the skill that receives replies."]);
    if (c.channel === "sms") {
      if (!c.text.trim()) problems.push(["text", "Write the message text."]);
      const refused = refusal(smsInfo(withOptOut(c.text, optOutText() ?? reservedOptOut())),
        c.allow_multi_segment);
      if (c.text.trim() && refused) problems.push(["text", refused]);
    } else if (!c.template_id) {
      problems.push(["template_id", "Choose an approved template."]);
    }
    put(errors, errorSummary(problems) || "");
    errors.querySelector("#step-errors")?.focus();
    return !problems.length;
  };
}

// A typed line as given: its phone number (up to the first comma) is never broken across lines.
function inputCell(input) {
  const [phone, ...rest] = String(input ?? "").split(",");
  return [h("span", { class: "phone" }, phone), rest.length ? `,${rest.join(",")}` : ""];
}

function linesTable(result) {
  const rows = result.lines.map((l) => {
    const bad = l.errors && l.errors.length;
    return h("tr", { class: bad ? "bad" : "", "data-line": l.line },
      h("th", { scope: "row" }, l.line), h("td", { class: "pre" }, inputCell(l.input)),
      h("td", { class: "phone" }, l.phone || ""), h("td", { class: "pre" }, bad ? "" : l.text || ""),
      h("td", { class: "num" }, bad ? "" : l.segments ?? ""),
      h("td", { class: "err" }, bad ? l.errors.map((e) => e.message).join("; ") : "OK"));
  });
  return table("Recipients preview", ["Line", "Input", "Number", "Message", "Segments", "Problem"], rows,
    { id: "parse-table" });
}

function resultSummary(result, csv) {
  const { valid, invalid } = result.summary;
  const parts = [h("p", { id: "parse-summary" }, h("strong", {}, `${valid} recipient${valid === 1 ? "" : "s"} ready`),
    invalid ? `, ${invalid} line${invalid === 1 ? "" : "s"} with errors` : ", no errors")];
  if (invalid) {
    parts.push(notice("error", csv
      ? `The file has ${invalid} line(s) with errors (listed below). Nothing is sent from it: correct the file and upload the corrected file.`
      : `${invalid} line(s) have errors (highlighted below). Correct them and parse again; nothing is sent until every line is valid.`));
    const bad = result.lines.filter((l) => l.errors?.length);
    parts.push(h("ul", { class: "line-errors", id: "line-errors" },
      bad.map((l) => h("li", {}, `Line ${l.line}: ${l.errors.map((e) => e.message).join("; ")}`))));
    if (bad.length < invalid) parts.push(h("p", { class: "hint" }, `The first ${bad.length} of ${invalid} lines with errors are listed.`));
  }
  parts.push(linesTable(result));
  return parts;
}

function recipientsStep(body, nav) {
  const r = state.recipients;
  // A result for the same list but other content (compose changed since): checked again below.
  let stale = !!r.result && r.resultKey !== recipientsKey();
  let parsing = null; // a parse under way: Next waits for its result
  const out = h("div", { id: "parse-result", "aria-live": "polite" });
  const modeBox = h("fieldset", {}, h("legend", {}, "How do you add recipients?"),
    [["typed", `Type or paste (up to ${TYPED_MAX} lines)`], ["csv", "Upload a CSV file (up to 100,000 rows)"]].map(([value, label]) => {
      const id = `mode-${value}`;
      return h("div", { class: "radio" }, h("input", { type: "radio", name: "mode", id, value, checked: r.mode === value,
        onchange: () => { r.mode = value; draw(); } }), h("label", { for: id }, label));
    }));
  const area = h("div");
  const showResult = () => {
    put(out, ...(r.result && r.resultKey === recipientsKey() ? resultSummary(r.result, r.mode === "csv") : []));
  };
  const example = state.compose.channel === "sms"
    ? "One recipient a line: the phone with country code, then optionally a comma and this recipient's own text. E.g. +1 212 555 0101 or 1(212)555-0102, Hi Ann!"
    : "One recipient a line: the phone with country code, then the template variables in order, separated by commas.";

  const draw = () => {
    if (r.mode === "typed") {
      const count = h("p", { class: "hint", id: "line-count", "aria-live": "polite" });
      const countLines = () => {
        const n = r.typed.split(/\r?\n/).filter((l) => l.trim()).length;
        count.textContent = `${n} of ${TYPED_MAX} lines`;
        count.classList.toggle("over", n > TYPED_MAX);
      };
      const textarea = h("textarea", { id: "typed", rows: "8", spellcheck: "false",
        oninput: (e) => { r.typed = e.target.value; countLines(); showResult(); } }, r.typed);
      countLines();
      put(area, field("Recipients", textarea, example), count,
        h("button", { type: "button", id: "parse", onclick: async (e) => {
          const n = r.typed.split(/\r?\n/).filter((l) => l.trim()).length;
          if (!n) { put(out, notice("error", "Type at least one recipient.")); return; }
          if (n > TYPED_MAX) { put(out, notice("error", `A typed list holds at most ${TYPED_MAX} lines; upload a CSV file instead.`)); return; }
          e.target.disabled = true;
          put(out, notice("info", stale ? "The message changed since the list was checked: checking it again…" : "Parsing…"));
          stale = false;
          let done;
          parsing = new Promise((resolve) => { done = resolve; });
          try {
            r.result = await parseTyped();
            r.resultKey = recipientsKey();
            showResult();
          } catch (err) {
            put(out, notice("error", err.step ? `${err.message} (go back to step ${err.step} to fix it)` : `Could not parse: ${err.message}`));
          } finally {
            e.target.disabled = false;
            parsing = null;
            done();
          }
        } }, "Parse"));
    } else {
      const input = h("input", { type: "file", id: "csv", accept: ".csv,text/csv,text/plain",
        onchange: (e) => { r.file = e.target.files[0] || null; showResult(); } });
      const bar = h("progress", { id: "upload-progress", max: "100", value: "0", hidden: true, "aria-label": "Upload progress" });
      const status = h("p", { id: "upload-status", "aria-live": "polite" });
      put(area, field("CSV file", input, `${example} A header line is not needed.`),
        r.file ? h("p", { class: "hint" }, `Chosen: ${r.file.name}`) : null,
        h("button", { type: "button", id: "upload", onclick: async (e) => {
          if (!r.file) { put(out, notice("error", "Choose a CSV file first.")); return; }
          e.target.disabled = true;
          put(out, );
          bar.hidden = false;
          try {
            const draft = await ensureDraft();
            r.result = await uploadCsv(draft, (done, total) => {
              bar.value = Math.round((100 * done) / total);
              status.textContent = `Uploading: ${bar.value}%`;
            }, (upload) => {
              status.textContent = upload.status === "PARSING" ? `Checking the file: ${upload.rows_done || 0} rows so far`
                : upload.status === "WAITING" ? "Uploaded; waiting for the check to start…"
                  : upload.status === "FAILED" ? `The file could not be read: ${upload.message || ""}` : "Checked.";
            });
            r.resultKey = recipientsKey();
            showResult();
          } catch (err) {
            put(out, err.missing ? notice("unavailable", "CSV upload is not available on this server yet: type or paste up to 100 lines instead.")
              : notice("error", err.step ? `${err.message} (go back to step ${err.step} to fix it)` : `The upload failed: ${err.message}`));
          } finally {
            e.target.disabled = false;
          }
        } }, "Upload and check"), bar, status);
    }
    showResult();
  };
  draw();
  body.append(modeBox, area, out);
  // Back from compose with other content: the lines shown were checked against the old one.
  if (stale && r.mode === "typed" && r.typed.trim()) {
    area.querySelector("#parse").click();
  } else if (stale && r.mode === "csv" && r.file) {
    put(out, notice("warning", "The message changed since the file was checked: upload and check it again."));
  }

  nav.next = () => (parsing ? parsing.then(check) : check());
  const check = () => {
    if (!r.result || r.resultKey !== recipientsKey()) {
      put(out, notice("error", r.mode === "typed" ? "Parse the list first." : "Upload and check the file first."));
      return false;
    }
    if (r.result.summary.invalid) {
      // once, however often Next is pressed
      out.querySelector("#next-error")?.remove();
      const problem = notice("error", "Correct the lines with errors before you continue.");
      problem.id = "next-error";
      out.prepend(problem);
      return false;
    }
    if (!r.result.summary.valid) {
      put(out, notice("error", "The list has no recipients."));
      return false;
    }
    return true;
  };
}

function minutesOf(clock) {
  const [hh, mm] = clock.split(":").map(Number);
  return hh * 60 + mm;
}

export function estimate(count, rate, windowStart, windowEnd) {
  if (!count || !(rate > 0)) return "Parse the recipients to see how long the campaign takes.";
  const seconds = count / rate;
  const windowSeconds = (minutesOf(windowEnd) - minutesOf(windowStart)) * 60;
  if (windowSeconds <= 0) return "Choose a window whose start is before its end.";
  const days = Math.ceil(seconds / windowSeconds);
  return `${count} recipient${count === 1 ? "" : "s"} at ${perSecond(rate)}: ` +
    `about ${duration(seconds)} of sending` +
    (days > 1 ? `, spread over about ${days} days of ${windowStart}–${windowEnd} windows.`
      : `, within one ${windowStart}–${windowEnd} window.`) +
    " Recipients outside their window wait (SCHEDULED) until it opens in their time zone.";
}

function scheduleStep(body, nav) {
  const s = state.schedule;
  const errors = h("div");
  const est = h("p", { id: "estimate", "aria-live": "polite" });
  const count = state.recipients.result?.summary.valid || 0;
  const update = () => { est.textContent = estimate(count, Number(s.send_rate), s.window_start, s.window_end); };
  const later = h("div", { class: "row", hidden: s.start !== "later" },
    field("Date", h("input", { type: "date", id: "launch-date", value: s.date, oninput: (e) => { s.date = e.target.value; } })),
    field(`Time (${zoneName()}, the brand's time zone)`, h("input", { type: "time", id: "launch-time", value: s.time,
      oninput: (e) => { s.time = e.target.value; } })));
  const startBox = h("fieldset", {}, h("legend", {}, "Start"),
    [["now", "As soon as it is launched"], ["later", "At a date and time"]].map(([value, label]) => h("div", { class: "radio" },
      h("input", { type: "radio", name: "start", id: `start-${value}`, value, checked: s.start === value,
        onchange: () => { s.start = value; later.hidden = value !== "later"; } }), h("label", { for: `start-${value}` }, label))),
    later);
  const allDay = s.window_start === "00:00" && s.window_end === "24:00";
  const clock = (id, label, prop) => h("input", { type: "time", id, value: allDay ? "" : s[prop], required: true,
    disabled: allDay, oninput: (e) => { s[prop] = e.target.value; update(); } });
  const from = clock("window-start", "From", "window_start");
  const until = clock("window-end", "Until", "window_end");
  const allDayBox = h("input", { type: "checkbox", id: "all-day", checked: allDay, onchange: (e) => {
    from.disabled = until.disabled = e.target.checked;
    if (e.target.checked) { s.window_start = "00:00"; s.window_end = "24:00"; } else {
      s.window_start = from.value || brandWindow().start; s.window_end = until.value || brandWindow().end;
      from.value = s.window_start; until.value = s.window_end;
    }
    update();
  } });
  body.append(startBox,
    h("fieldset", {}, h("legend", {}, "Sending window, in each recipient's local time"),
      h("div", { class: "row" }, field("From", from), field("Until", until)),
      h("div", { class: "radio" }, allDayBox, h("label", { for: "all-day" }, "All day (00:00–24:00)"))),
    field("Send rate (messages per second)", h("input", { type: "number", id: "send-rate", min: "0.1", max: "100", step: "any",
      value: s.send_rate, oninput: (e) => { s.send_rate = e.target.value; update(); } }),
    "1 per second by default; up to 100."),
    h("fieldset", {}, h("legend", {}, "Consumers talking with your agents"),
      h("div", { class: "radio" }, h("input", { type: "checkbox", id: "hold-open", checked: s.hold_open_conversations,
        onchange: (e) => { s.hold_open_conversations = e.target.checked; } }),
      h("label", { for: "hold-open" }, "Hold: do not send this campaign to a consumer who has an open " +
        "conversation with the brand (skipped, reason OPEN_CONVERSATION)"))),
    h("h3", {}, "Estimate"), est, errors);
  body.addEventListener("input", () => put(errors));
  update();

  nav.next = () => {
    const problems = [];
    if (!s.window_start || !s.window_end || s.window_start >= s.window_end) {
      problems.push(["window-start", "The window's start must be before its end."]);
    }
    const rate = Number(s.send_rate);
    if (!(rate > 0 && rate <= 100)) problems.push(["send-rate", "The send rate is from 0.1 to 100 messages per second."]);
    if (s.start === "later") {
      if (!s.date || !s.time) problems.push(["launch-date", "Choose the date and time to start."]);
      else if (new Date(zonedIso(s.date, s.time)) <= new Date()) problems.push(["launch-date", "The start must be in the future."]);
    }
    put(errors, errorSummary(problems) || "");
    errors.querySelector("#step-errors")?.focus();
    return !problems.length;
  };
}

function previewStep(body, nav, go) {
  const out = h("div", { "aria-live": "polite" }, notice("info", "Preparing the campaign…"));
  body.append(out);
  nav.next = null;
  (async () => {
    let campaign;
    try {
      const draft = await ensureDraft();
      if (draft.recipientsKey !== recipientsKey()) {
        if (state.recipients.mode === "typed") {
          state.recipients.result = await attachTyped(draft);
        } else {
          put(out, notice("info", "Uploading the recipients to the campaign…"));
          state.recipients.result = await uploadCsv(draft, () => {}, () => {});
        }
        state.recipients.resultKey = recipientsKey();
      }
      campaign = await get(`campaigns/${encodeURIComponent(draft.id)}`);
      if (!state.recipients.result.lines.some((l) => !l.errors?.length)) {
        // An uploaded file's accepted lines are stored, not returned: read the first few.
        const first = await get(`campaigns/${encodeURIComponent(draft.id)}/recipients?limit=5`);
        state.recipients.result.lines = [...state.recipients.result.lines, ...(first.items || [])];
      }
    } catch (err) {
      put(out, notice("error", err.step ? `${err.message}` : `The campaign could not be prepared: ${err.message}`),
        err.step ? h("button", { type: "button", onclick: () => go(err.step) }, `Go to step ${err.step}: ${STEPS[err.step - 1]}`) : null);
      return;
    }
    const c = state.compose;
    const s = state.schedule;
    const result = state.recipients.result;
    const sample = result.lines.find((l) => !l.errors?.length);
    const consent = h("input", { type: "checkbox", id: "consent" });
    const brandName = state.setup.brand?.name || "the brand";
    const launchOut = h("div", { "aria-live": "polite", id: "launch-result" });
    put(out, 
      h("dl", { class: "facts", id: "preview" },
        h("dt", {}, "Name"), h("dd", {}, c.name),
        h("dt", {}, "Channel"), h("dd", {}, c.channel),
        h("dt", {}, "From"), h("dd", {}, campaign.from_number),
        c.channel === "prioritized" ? [h("dt", {}, "SMS fallback"), h("dd", {}, c.fallback_from_number)] : null,
        h("dt", {}, "Replies go to skill"), h("dd", {}, campaign.skill),
        h("dt", {}, "Opt-out text"), h("dd", {}, optOutText() ?? "the brand's opt-out text (added by the server)"),
        h("dt", {}, "Message"), h("dd", { class: "pre", id: "preview-message" }, sample?.text || c.text),
        h("dt", {}, "Recipients"), h("dd", {}, `${campaign.recipients}`),
        h("dt", {}, "Start"), h("dd", {}, s.start === "later" ? when(zonedIso(s.date, s.time)) : "when launched"),
        h("dt", {}, "Window"), h("dd", {}, `${s.window_start}–${s.window_end} recipient time`),
        h("dt", {}, "Send rate"), h("dd", {}, perSecond(s.send_rate)),
        h("dt", {}, "Open conversations"), h("dd", { id: "preview-hold" }, s.hold_open_conversations
          ? "held: consumers in an open conversation are skipped" : "sent to as well"),
        h("dt", {}, "Estimate"), h("dd", {}, estimate(campaign.recipients, Number(s.send_rate), s.window_start, s.window_end))),
      h("h3", {}, "First recipients"),
      table("First recipients", ["Line", "Number", "Message"], result.lines.filter((l) => !l.errors?.length).slice(0, 5)
        .map((l) => h("tr", {}, h("th", { scope: "row" }, l.line), h("td", { class: "phone" }, l.phone), h("td", { class: "pre" }, l.text)))),
      h("div", { class: "consent card" },
        h("div", { class: "radio" }, consent, h("label", { for: "consent" },
          `I confirm that ${brandName} collected opt-in consent from every recipient of this campaign to receive ` +
          "these messages, and that the campaign complies with the TCPA, GDPR and every other law that applies.")),
        h("button", { type: "button", class: "primary", id: "launch", onclick: async (e) => {
          if (!consent.checked) {
            put(launchOut, notice("error", "Tick the consent box: a campaign cannot be launched without it."));
            consent.focus();
            return;
          }
          e.target.disabled = true;
          try {
            const launched = await post(`campaigns/${encodeURIComponent(campaign.id)}/launch`, { consent: true });
            state = fresh();
            location.hash = `#/campaigns/${encodeURIComponent(launched.id)}`;
          } catch (err) {
            put(launchOut, notice("error", `Could not launch: ${err.message}`));
            e.target.disabled = false;
          }
        } }, "Launch campaign"),
        launchOut));
  })();
}

export async function wizardPage(token, params) {
  setMain(heading("New campaign"), notice("info", "Loading the brand's numbers, skills and templates…"));
  if (!state.setup) state.setup = await loadSetup();
  const copy = params.get("copy");
  if (copy && state.copiedFrom !== copy) {
    try {
      const c = await get(`campaigns/${encodeURIComponent(copy)}`);
      const setup = state.setup;
      state = fresh();
      state.setup = setup;
      state.copiedFrom = copy;
      Object.assign(state.compose, { name: `Copy of ${c.name}`.slice(0, 255), channel: c.channel,
        from_number: c.from_number || "", skill: c.skill || "", text: c.text || "",
        template_id: c.template_id || "", allow_multi_segment: !!c.allow_multi_segment,
        fallback_from_number: c.fallback_from_number || "" });
      Object.assign(state.schedule, { send_rate: c.schedule.send_rate,
        window_start: c.schedule.window.start, window_end: c.schedule.window.end,
        hold_open_conversations: c.schedule.hold_open_conversations !== false });
    } catch (err) {
      setMain(heading("New campaign"), failure(err, "The campaign to copy"));
      return;
    }
  }
  if (!isCurrent(token)) return;
  if (state.schedule.window_start === null) {
    Object.assign(state.schedule, { window_start: brandWindow().start, window_end: brandWindow().end });
  }
  const go = (step) => { state.step = step; render(); };
  const render = () => {
    const nav = { next: null };
    const titleId = newId("step");
    const body = h("section", { class: "step card", "aria-labelledby": titleId });
    body.append(h("h2", { id: titleId, tabindex: "-1" }, `Step ${state.step} of 4: ${STEPS[state.step - 1]}`));
    [composeStep, recipientsStep, scheduleStep, previewStep][state.step - 1](body, nav, go);
    const buttons = h("div", { class: "wizard-nav" },
      state.step > 1 ? h("button", { type: "button", id: "back", onclick: () => go(state.step - 1) }, "Back") : null,
      state.step < 4 ? h("button", { type: "button", class: "primary", id: "next", onclick: async () => {
        const step = state.step;
        // a step's check may wait (the recipients step for a parse under way)
        if ((!nav.next || await nav.next()) && state.step === step) go(step + 1);
      } }, "Next") : null,
      h("button", { type: "button", class: "link", id: "discard", onclick: () => {
        if (state.draft) post(`campaigns/${encodeURIComponent(state.draft.id)}/cancel`).catch(() => {});
        const setup = state.setup;
        state = fresh();
        state.setup = setup;
        location.hash = "#/";
      } }, "Discard"));
    setMain(heading("New campaign"), stepper(), body, buttons);
    body.querySelector("h2").focus();
  };
  render();
}
