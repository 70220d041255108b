// Local Slack sandbox page: renders the workspace's Block Kit and replays every interaction through
// the server's Slack-shaped helpers (block_actions, view_submission, slash commands over Socket Mode).
"use strict";

const $ = (sel) => document.querySelector(sel);
// Per-start token the server writes into the page; every POST carries it (other origins cannot read it).
const SANDBOX_TOKEN = document.querySelector('meta[name="sandbox-token"]').content;
const ui = {
  state: null,
  me: localStorage.getItem("sandbox.user") || "U01MAYA",
  view: { kind: "channel", id: "C02MEETINGS" }, // or {kind: "dm"} / {kind: "home"}
  thread: null, // {channel, ts}
  modalKey: "",
  fetching: null,
  again: false,
};

const EMOJI = {
  white_check_mark: "✅", warning: "⚠️", x: "❌", calendar: "📆", date: "📅", memo: "📝", clipboard: "📋",
  tada: "🎉", zzz: "💤", label: "🏷️", moneybag: "💰", no_entry: "⛔", red_circle: "🔴", white_circle: "⚪",
  large_blue_circle: "🔵", large_orange_circle: "🟠", large_yellow_circle: "🟡", rotating_light: "🚨",
  stopwatch: "⏱️", sunny: "☀️", hourglass_flowing_sand: "⏳", leftwards_arrow_with_hook: "↩️",
  bust_in_silhouette: "👤", busts_in_silhouette: "👥", link: "🔗", pushpin: "📌", bulb: "💡", eyes: "👀",
  heavy_check_mark: "✔️", arrow_right: "➡️", robot_face: "🤖", mag: "🔍", page_facing_up: "📄",
  chart_with_upwards_trend: "📈", speech_balloon: "💬", thumbsup: "👍", "+1": "👍", fire: "🔥",
  star: "⭐", rocket: "🚀", hammer_and_wrench: "🛠️", gear: "⚙️", lock: "🔒", inbox_tray: "📥",
};

// ---------------------------------------------------------------------------------------------- text
function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function unesc(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);
}
function userName(id) {
  const u = (ui.state?.users || []).find((x) => x.id === id);
  return u ? u.real_name : id;
}
function channelName(id) {
  const c = (ui.state?.channels || []).find((x) => x.id === id);
  return c ? c.name : id;
}
// <!date^UNIX^{date_short_pretty} at {time}|fallback>: drawn in the viewer's own time zone, as Slack does
function slackDate(target, fallback) {
  const [, unix, format] = target.split("^");
  const when = new Date(Number(unix) * 1000);
  if (!format || Number.isNaN(when.getTime())) return fallback;
  const fmt = (options) => when.toLocaleString("en-US", options);
  const day = (d) => d.toDateString();
  const today = new Date();
  const pretty = (long) => {
    const yesterday = new Date(today.getTime() - 86400000);
    const tomorrow = new Date(today.getTime() + 86400000);
    if (day(when) === day(today)) return "today";
    if (day(when) === day(tomorrow)) return "tomorrow";
    if (day(when) === day(yesterday)) return "yesterday";
    return fmt({ month: long ? "long" : "short", day: "numeric", year: "numeric" });
  };
  const parts = {
    date_num: when.toISOString().slice(0, 10),
    date: fmt({ month: "long", day: "numeric", year: "numeric" }),
    date_short: fmt({ month: "short", day: "numeric", year: "numeric" }),
    date_long: fmt({ weekday: "long", month: "long", day: "numeric", year: "numeric" }),
    date_pretty: pretty(true),
    date_short_pretty: pretty(false),
    date_long_pretty: pretty(true),
    time: fmt({ hour: "numeric", minute: "2-digit" }),
    time_secs: fmt({ hour: "numeric", minute: "2-digit", second: "2-digit" }),
  };
  return format.replace(/\{(\w+)\}/g, (m, key) => parts[key] ?? m);
}
function token(inner) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) return `<span class="mention">@${esc(userName(target.slice(1)))}</span>`;
  if (target.startsWith("#")) return `<span class="mention">#${esc(label || channelName(target.slice(1)))}</span>`;
  if (target.startsWith("!date")) return esc(slackDate(target, unesc(label || target)));
  if (target.startsWith("!")) return `<span class="mention">@${esc(label || target.slice(1).split("^")[0])}</span>`;
  const href = /^(https?:|mailto:)/.test(target) ? target : "#";
  return `<a href="${esc(href)}" target="_blank" rel="noopener">${esc(unesc(label || target))}</a>`;
}
function mrkdwn(text) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let s = String(text ?? "");
  s = s.replace(/```([\s\S]*?)```/g, (m, code) => hold(`<pre>${esc(unesc(code))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${esc(unesc(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (m, inner) => hold(token(inner)));
  s = esc(unesc(s));
  s = s.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, "$1<b>$2</b>");
  s = s.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, "$1<i>$2</i>");
  s = s.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, "$1<s>$2</s>");
  s = s.replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>");
  s = emoji(s).replace(/\n/g, "<br>").replace(/<\/blockquote><br>/g, "</blockquote>");
  return s.replace(/\u0000(\d+)\u0000/g, (m, i) => held[Number(i)]);
}
function textObj(t) {
  if (!t) return "";
  if (typeof t === "string") return esc(t);
  return t.type === "mrkdwn" ? mrkdwn(t.text) : emoji(esc(t.text));
}
function plain(t) {
  return typeof t === "string" ? t : (t?.text ?? "");
}

// ---------------------------------------------------------------------------------------- elements
function el(tag, attrs = {}, html = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  if (html) node.innerHTML = html;
  return node;
}
function optionsOf(element) {
  if (element.options) return element.options;
  return (element.option_groups || []).flatMap((g) => g.options || []);
}
function fillSelect(select, options, initial, placeholder) {
  select.append(el("option", { value: "" }, esc(placeholder || "Select…")));
  for (const o of options) {
    const opt = el("option", { value: o.value }, emoji(esc(plain(o.text))));
    if (initial !== undefined && initial !== null && String(initial) === String(o.value)) opt.selected = true;
    select.append(opt);
  }
}
function userOptions() {
  return (ui.state.users || []).filter((u) => !u.is_bot).map((u) => ({ value: u.id, text: u.real_name }));
}

// ctx: {channel, ts} for messages, {view_id} for home/modals; inModalInput: collect, do not dispatch.
function renderElement(e, block, ctx, inModalInput) {
  const aid = e.action_id;
  const send = (kind, value, text) => act({ kind, action_id: aid, block_id: block.block_id, value, text, ...ctx });
  const common = { "data-action-id": aid, "data-block-id": block.block_id, "data-kind": e.type };
  switch (e.type) {
    case "button": {
      const b = el("button", { ...common, type: "button", class: `el ${e.style || ""}` }, emoji(esc(plain(e.text))));
      b.addEventListener("click", async () => {
        if (e.url) window.open(e.url, "_blank", "noopener");
        if (e.confirm && !window.confirm(plain(e.confirm.text) || "Are you sure?")) return;
        b.disabled = true;
        try { await send("button", e.value); } finally { b.disabled = false; }
      });
      return b;
    }
    case "static_select": case "external_select": case "overflow": case "users_select":
    case "conversations_select": case "channels_select": {
      const isUsers = e.type === "users_select";
      const isChannels = e.type === "conversations_select" || e.type === "channels_select";
      const opts = isUsers ? userOptions() : isChannels ? ui.state.channels.map((c) => ({ value: c.id, text: `#${c.name}` })) : optionsOf(e);
      const initial = isUsers ? e.initial_user : isChannels ? (e.initial_conversation || e.initial_channel) : e.initial_option?.value;
      const s = el("select", { ...common, class: `el ${e.type === "overflow" ? "overflow" : ""}`, title: e.type === "overflow" ? "More actions" : null });
      fillSelect(s, opts, initial, e.type === "overflow" ? "⋯" : plain(e.placeholder));
      if (!inModalInput) {
        s.addEventListener("change", () => {
          if (!s.value) return;
          const chosen = opts.find((o) => String(o.value) === s.value);
          const kind = isUsers ? "users_select" : e.type === "overflow" ? "overflow" : "static_select";
          send(kind, s.value, plain(chosen?.text));
          if (e.type === "overflow") s.value = "";
        });
      }
      return s;
    }
    case "multi_static_select": case "multi_users_select": {
      const opts = e.type === "multi_users_select" ? userOptions() : optionsOf(e);
      const initial = new Set([...(e.initial_options || []).map((o) => o.value), ...(e.initial_users || [])]);
      const s = el("select", { ...common, class: "el", multiple: true, size: Math.min(5, opts.length) });
      for (const o of opts) {
        const opt = el("option", { value: o.value }, esc(plain(o.text)));
        opt.selected = initial.has(o.value);
        s.append(opt);
      }
      return s;
    }
    case "datepicker": {
      const d = el("input", { ...common, class: "el", type: "date", value: e.initial_date || "" });
      if (!inModalInput) d.addEventListener("change", () => d.value && send("datepicker", d.value));
      return d;
    }
    case "timepicker":
      return el("input", { ...common, class: "el", type: "time", value: e.initial_time || "" });
    case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input": {
      const attrs = { ...common, placeholder: plain(e.placeholder), maxlength: e.max_length };
      const input = e.multiline ? el("textarea", { ...attrs, rows: 4 }) : el("input", { ...attrs, type: e.type === "number_input" ? "number" : "text" });
      input.value = e.initial_value || "";
      return input;
    }
    case "checkboxes": case "radio_buttons": {
      const box = el("div", { ...common, class: "choices" });
      const initial = new Set([...(e.initial_options || []).map((o) => o.value), e.initial_option?.value]);
      for (const o of optionsOf(e)) {
        const input = el("input", { type: e.type === "checkboxes" ? "checkbox" : "radio", name: `${block.block_id}:${aid}`, value: o.value });
        input.checked = initial.has(o.value);
        const label = el("label");
        label.append(input, document.createRange().createContextualFragment(` ${textObj(o.text)}`));
        box.append(label);
      }
      return box;
    }
    case "image":
      return el("img", { src: imageSrc(e), alt: e.alt_text || "" });
    default:
      return el("span", { class: "b-unknown" }, `[${esc(e.type)}]`);
  }
}

// An image by URL, or by an uploaded file's id (Block Kit's slack_file), served by the sandbox.
function imageSrc(x) {
  if (x.image_url) return x.image_url;
  const f = x.slack_file || {};
  return f.url || (f.id ? `/sandbox/files/${encodeURIComponent(f.id)}` : "");
}

function renderBlock(block, ctx, errors) {
  const b = el("div", { class: `b-${block.type}`, "data-block-id": block.block_id });
  switch (block.type) {
    case "header":
      b.innerHTML = textObj(block.text);
      break;
    case "section": {
      const text = el("div", { class: "text" }, textObj(block.text));
      if (block.fields) {
        const grid = el("div", { class: "b-fields" });
        for (const f of block.fields) grid.append(el("div", {}, textObj(f)));
        text.append(grid);
      }
      b.append(text);
      if (block.accessory) {
        const acc = el("div", { class: "accessory" });
        acc.append(renderElement(block.accessory, block, ctx, false));
        b.append(acc);
      }
      break;
    }
    case "context":
      for (const e of block.elements || []) {
        b.append(e.type === "image" ? el("img", { src: imageSrc(e), alt: e.alt_text || "" }) : el("span", {}, textObj(e)));
      }
      break;
    case "divider":
      return el("hr", { class: "b-divider" });
    case "actions":
      for (const e of block.elements || []) b.append(renderElement(e, block, ctx, false));
      break;
    case "image":
      if (block.title) b.append(el("div", { class: "caption" }, textObj(block.title)));
      b.append(el("img", { src: imageSrc(block), alt: block.alt_text || "" }));
      break;
    case "input": {
      const label = el("label", {}, `${textObj(block.label)}${block.optional ? ' <span class="optional">(optional)</span>' : ""}`);
      label.append(renderElement(block.element, block, ctx, !block.dispatch_action));
      if (block.hint) label.append(el("p", { class: "hint" }, textObj(block.hint)));
      const error = errors?.[block.block_id];
      if (error) label.append(el("div", { class: "error" }, esc(error)));
      b.append(label);
      break;
    }
    case "rich_text":
      b.innerHTML = mrkdwn(JSON.stringify(block.elements).replace(/.*?"text":"([^"]*)"/g, "$1 ").replace(/[\]}"]+$/, ""));
      break;
    default:
      b.className = "b-unknown";
      b.textContent = `[unsupported block: ${block.type}]`;
  }
  return b;
}

function renderBlocks(blocks, ctx, errors) {
  const box = el("div", { class: "blocks" });
  for (const block of blocks || []) box.append(renderBlock(block, ctx, errors));
  return box;
}

// ---------------------------------------------------------------------------------------- messages
function isTopLevel(m) {
  return !m.thread_ts || m.thread_ts === m.ts || m.subtype === "thread_broadcast";
}
function renderMessage(m, channel, { inThread = false } = {}) {
  const isBot = m.user === ui.state.bot_user_id || m.bot_id;
  const name = isBot ? "Fathom OS" : userName(m.user);
  const row = el("div", { class: `msg ${m.ephemeral ? "ephemeral" : ""}`, "data-ts": m.ts });
  row.append(el("div", { class: `avatar ${isBot ? "bot" : ""}` }, esc(name.slice(0, 1))));
  const body = el("div", { class: "msg-body" });
  const time = new Date(Number(m.ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  body.append(el("div", { class: "msg-head" },
    `<span class="author">${esc(name)}</span>${isBot ? '<span class="app-badge">APP</span>' : ""}<span class="time">${time}</span>` +
    (m.ephemeral ? '<span class="eph-note">Only visible to you</span>' : "")));
  const ctx = { channel, ts: m.ts };
  if (m.blocks && m.blocks.length) body.append(renderBlocks(m.blocks, ctx));
  else if (m.text || !m.files) body.append(el("div", { class: "text" }, mrkdwn(m.text)));
  for (const f of m.files || []) body.append(renderFile(f));
  if (!inThread && m.reply_count) {
    body.append(el("button", { type: "button", class: "replies-link", onclick: () => openThread(channel, m.ts) },
      `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`));
  }
  row.append(body);
  return row;
}
function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
// An uploaded file: name, size and a download link served by the sandbox; images also inline.
function renderFile(f) {
  const box = el("div", { class: "file", "data-file-id": f.id });
  if ((f.mimetype || "").startsWith("image/")) box.append(el("img", { class: "file-image", src: f.url_private, alt: f.title || f.name }));
  const row = el("div", { class: "file-row" }, `<span class="file-icon">📄</span>`);
  row.append(el("a", { class: "file-name", href: f.url_private_download, download: f.name }, esc(f.name)));
  row.append(el("span", { class: "file-size" }, esc(fileSize(f.size || 0))));
  box.append(row);
  return box;
}
function ephemeralsIn(channel, threadTs) {
  return (ui.state.ephemerals || [])
    .filter((e) => e.channel === channel && (threadTs ? e.thread_ts === threadTs : !e.thread_ts))
    .map((e) => ({ ...e, ephemeral: true, user: ui.state.bot_user_id }));
}
function byTs(a, b) {
  return Number(a.ts) - Number(b.ts);
}
function currentChannel() {
  return ui.view.kind === "dm" ? ui.state.dm.id : ui.view.id;
}

// ------------------------------------------------------------------------------------------ render
function render() {
  const s = ui.state;
  $("#team-name").textContent = s.team;
  const sw = $("#user-switch");
  if (!sw.options.length) {
    for (const u of s.users.filter((x) => !x.is_bot)) sw.append(el("option", { value: u.id }, esc(u.real_name)));
  }
  sw.value = ui.me;
  const list = $("#channel-list");
  list.replaceChildren(...s.channels.map((c) => {
    const a = el("a", { href: "#", "data-nav": "channel", "data-channel": c.id, class: ui.view.kind === "channel" && ui.view.id === c.id ? "active" : "" },
      `${c.is_private ? "🔒" : "#"} ${esc(c.name)}`);
    const li = el("li");
    li.append(a);
    return li;
  }));
  $("#nav-home").classList.toggle("active", ui.view.kind === "home");
  $("#nav-dm").classList.toggle("active", ui.view.kind === "dm");
  renderMain();
  renderThread();
  renderModal();
}

function renderMain() {
  const s = ui.state;
  const box = $("#messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  $("#composer").hidden = ui.view.kind === "home";
  if (ui.view.kind === "home") {
    $("#main-title").textContent = "Fathom OS";
    $("#main-sub").textContent = "Home";
    const home = el("div", { class: "home", "data-view-id": s.home?.id || "" });
    if (s.home) home.append(renderBlocks(s.home.blocks, { view_id: s.home.id }));
    else home.append(el("div", { class: "empty" }, "The app has not published a Home tab for you yet…"));
    box.replaceChildren(home);
    return;
  }
  const channel = currentChannel();
  $("#main-title").textContent = ui.view.kind === "dm" ? "Fathom OS" : `# ${channelName(channel)}`;
  $("#main-sub").textContent = ui.view.kind === "dm" ? "Direct messages with the app" : "";
  const msgs = [...(s.messages[channel] || []).filter(isTopLevel), ...ephemeralsIn(channel, null)].sort(byTs);
  const nodes = msgs.map((m) => renderMessage(m, channel));
  box.replaceChildren(...(nodes.length ? nodes : [el("div", { class: "empty" }, "No messages yet. Try “Send a sample meeting”.")]));
  if (nearBottom) box.scrollTop = box.scrollHeight;
}

function renderThread() {
  const pane = $("#thread");
  if (!ui.thread) { pane.hidden = true; return; }
  const { channel, ts } = ui.thread;
  const all = ui.state.messages[channel] || [];
  const parent = all.find((m) => m.ts === ts);
  if (!parent) { pane.hidden = true; ui.thread = null; return; }
  pane.hidden = false;
  const replies = [...all.filter((m) => m.thread_ts === ts && m.ts !== ts), ...ephemeralsIn(channel, ts)].sort(byTs);
  const box = $("#thread-messages");
  const top = box.scrollTop;
  box.replaceChildren(renderMessage(parent, channel, { inThread: true }), el("hr", { class: "b-divider" }),
    ...replies.map((m) => renderMessage(m, channel, { inThread: true })));
  box.scrollTop = top;
}

function renderModal() {
  const layer = $("#modal-layer");
  const stack = ui.state.modals || [];
  const view = stack[stack.length - 1];
  if (!view) { layer.hidden = true; layer.replaceChildren(); ui.modalKey = ""; return; }
  const key = `${view.id}:${view.hash}`;
  if (key === ui.modalKey) return; // keep what the person is typing
  ui.modalKey = key;
  layer.replaceChildren(buildModal(view, null));
  layer.hidden = false;
}

function buildModal(view, errors) {
  const modal = el("form", { class: "modal", "data-view-id": view.id, "data-callback-id": view.callback_id });
  const close = () => post("close", { view_id: view.id });
  modal.append(el("header", {}, `<span>${textObj(view.title)}</span>`));
  const x = el("button", { type: "button", "aria-label": "Close", onclick: close }, "✕");
  modal.firstChild.append(x);
  const body = el("div", { class: "modal-body" });
  body.append(renderBlocks(view.blocks, { view_id: view.id }, errors));
  modal.append(body);
  const footer = el("footer");
  footer.append(el("button", { type: "button", onclick: close }, esc(plain(view.close) || "Cancel")));
  if (view.submit) footer.append(el("button", { type: "submit", class: "primary" }, esc(plain(view.submit))));
  modal.append(footer);
  const clearError = (ev) => ev.target.closest(".b-input")?.querySelector(".error")?.remove();
  modal.addEventListener("input", clearError);
  modal.addEventListener("change", clearError);
  modal.addEventListener("submit", (ev) => { ev.preventDefault(); submitModal(view, modal); });
  return modal;
}

function collectValues(view, form) {
  const values = {};
  const missing = {};
  for (const block of view.blocks.filter((b) => b.type === "input")) {
    const e = block.element;
    const node = form.querySelector(`[data-block-id="${CSS.escape(block.block_id)}"][data-action-id="${CSS.escape(e.action_id)}"]`);
    if (!node) continue;
    let value = null;
    if (node.tagName === "SELECT" && node.multiple) value = [...node.selectedOptions].map((o) => o.value);
    else if (node.classList.contains("choices")) {
      const picked = [...node.querySelectorAll("input:checked")].map((i) => i.value);
      value = e.type === "checkboxes" ? picked : (picked[0] ?? null);
    } else value = node.value === "" ? null : node.value;
    const empty = value === null || (Array.isArray(value) && !value.length);
    if (empty && !block.optional) missing[block.block_id] = "Please complete this required field.";
    if (!empty) values[block.block_id] = { [e.action_id]: value };
  }
  return { values, missing };
}

async function submitModal(view, form) {
  const { values, missing } = collectValues(view, form);
  if (Object.keys(missing).length) { showErrors(view, form, missing); return; }
  const result = await post("submit", { view_id: view.id, values });
  if (result?.ack?.response_action === "errors") showErrors(view, form, result.ack.errors || {});
}

function showErrors(view, form, errors) {
  form.querySelectorAll(".error").forEach((n) => n.remove());
  for (const [blockId, message] of Object.entries(errors)) {
    const block = form.querySelector(`.b-input[data-block-id="${CSS.escape(blockId)}"] label`);
    if (block) block.append(el("div", { class: "error" }, esc(message)));
  }
}

// ------------------------------------------------------------------------------------------- server
function toast(message, kind = "") {
  const t = el("div", { class: `toast ${kind}` }, esc(message));
  $("#toasts").append(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

async function post(name, body) {
  try {
    const res = await fetch(`/sandbox/api/${name}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Token": SANDBOX_TOKEN },
      body: JSON.stringify({ user: ui.me, ...body }),
    });
    const data = await res.json();
    if (!data.ok) toast(data.error || `HTTP ${res.status}`, "error");
    refresh();
    return data;
  } catch (err) {
    toast(`Sandbox unreachable: ${err}`, "error");
    return null;
  }
}

function act(payload) {
  return post("action", payload);
}

async function refresh() {
  if (ui.fetching) { ui.again = true; return ui.fetching; }
  ui.fetching = (async () => {
    try {
      const res = await fetch(`/sandbox/api/state?user=${encodeURIComponent(ui.me)}`);
      ui.state = await res.json();
      render();
    } finally {
      ui.fetching = null;
      if (ui.again) { ui.again = false; refresh(); }
    }
  })();
  return ui.fetching;
}

function listen() {
  const source = new EventSource("/sandbox/api/events");
  source.onopen = () => { $("#connection").textContent = "live · updates stream in"; };
  source.onmessage = () => refresh();
  source.onerror = () => { $("#connection").textContent = "reconnecting…"; };
}

// ----------------------------------------------------------------------------------------- controls
function openThread(channel, ts) {
  ui.thread = { channel, ts };
  renderThread();
}

function navigate(kind, id) {
  ui.view = { kind, id };
  ui.thread = null;
  if (kind === "home") post("home", {});
  render();
}

function sendText(text, channel, threadTs) {
  if (!text.trim()) return;
  if (text.trim().startsWith("/")) return post("command", { channel, text: text.trim() });
  return post("message", { channel, text, thread_ts: threadTs });
}

function wire() {
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("[data-nav]");
    if (!a) return;
    ev.preventDefault();
    navigate(a.dataset.nav, a.dataset.channel);
  });
  $("#user-switch").addEventListener("change", (ev) => {
    ui.me = ev.target.value;
    localStorage.setItem("sandbox.user", ui.me);
    ui.modalKey = "";
    if (ui.view.kind === "home") post("home", {});
    refresh();
  });
  $("#composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#composer-input");
    sendText(input.value, currentChannel(), null);
    input.value = "";
  });
  $("#thread-composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#thread-input");
    if (ui.thread) sendText(input.value, ui.thread.channel, ui.thread.ts);
    input.value = "";
  });
  $("#thread-close").addEventListener("click", () => { ui.thread = null; renderThread(); });
  const layer = $("#sample-layer");
  const hide = () => { layer.hidden = true; };
  $("#sample-open").addEventListener("click", () => {
    const select = $("#sample-name");
    if (!select.options.length) for (const name of ui.state.samples) select.append(el("option", { value: name }, esc(name)));
    layer.hidden = false;
  });
  $("#sample-cancel").addEventListener("click", hide);
  $("#sample-cancel2").addEventListener("click", hide);
  $("#sample-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const transcript = $("#sample-transcript").value;
    const result = await post("sample", { name: $("#sample-name").value, transcript, title: $("#sample-title").value });
    if (result?.ok) {
      hide();
      $("#sample-transcript").value = "";
      toast(result.status === 202 ? `Webhook accepted (recording ${result.recording_id}); the card will appear shortly.` : `Webhook answered ${result.status}: ${result.response}`,
        result.status === 202 ? "" : "error");
      if (ui.view.kind !== "channel") navigate("channel", "C02MEETINGS");
    }
  });
  $("#sample-missed").addEventListener("click", async () => {
    const transcript = $("#sample-transcript").value;
    const result = await post("sample_missed", { name: $("#sample-name").value, transcript, title: $("#sample-title").value });
    if (result?.ok) {
      hide();
      $("#sample-transcript").value = "";
      toast(`No webhook sent: recording ${result.recording_id} is in the local Fathom API; reconciliation (every ${result.reconcile_seconds} s) will card it.`);
      if (ui.view.kind !== "channel") navigate("channel", "C02MEETINGS");
    }
  });
}

wire();
refresh().then(listen);
