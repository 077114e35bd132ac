// Private messages: the conversation page (optimistic sends with pending / sent / failed,
// retry, typing, "seen", older history on scroll) and the live inbox. The navbar badge
// is kept in live.js.
import { bus, me, send, t } from "./realtime.js";
import { relativeTime } from "./app.js";

const chat = document.getElementById("chat");
const inbox = document.getElementById("conversations");

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeEl(iso) {
  const node = el("time", null, relativeTime(new Date(iso)));
  node.setAttribute("datetime", iso);
  node.dataset.relative = "";
  return node;
}

function newClientId() {
  return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9_.:-]/g, "");
}

if (chat) {
  const partner = chat.dataset.partner;
  const partnerId = Number(chat.dataset.partnerId);
  let partnerReadId = Number(chat.dataset.partnerReadId || 0);
  let hasOlder = chat.dataset.hasOlder === "true";
  const composer = document.getElementById("composer");
  const textarea = composer?.querySelector("textarea");
  const typingLine = document.getElementById("typing");

  const atBottom = () => chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
  const scrollDown = () => { chat.scrollTop = chat.scrollHeight; };

  function bubble(message, mine) {
    const node = el("div", `msg ${mine ? "mine" : "theirs"}`);
    if (message.id) node.dataset.messageId = message.id;
    if (message.client_id) node.dataset.clientId = message.client_id;
    node.append(el("div", "bubble", message.body));
    const meta = el("div", "meta");
    meta.append(message.created_at ? timeEl(message.created_at) : el("span"), el("span", "state"));
    node.append(meta);
    return node;
  }

  function updateSeen() {
    // "Seen" under the newest of my messages the partner has read
    for (const node of chat.querySelectorAll(".msg.mine .state")) {
      if (node.dataset.kind === "seen") { node.textContent = ""; delete node.dataset.kind; }
    }
    const read = [...chat.querySelectorAll(".msg.mine[data-message-id]")]
      .filter((n) => Number(n.dataset.messageId) <= partnerReadId);
    const last = read.at(-1);
    if (last) { const s = last.querySelector(".state"); s.textContent = t("seen"); s.dataset.kind = "seen"; }
  }

  function setState(node, state) {
    node.classList.remove("pending", "failed");
    const label = node.querySelector(".state");
    label.replaceChildren();
    if (state === "pending") { node.classList.add("pending"); label.textContent = t("sending"); }
    if (state === "failed") {
      node.classList.add("failed");
      const retry = el("button", "btn btn-link btn-sm p-0 align-baseline", t("retry"));
      retry.type = "button";
      retry.addEventListener("click", () => deliver(node));
      label.append(t("failed"), " · ", retry);
    }
    if (state === "sent") updateSeen();
  }

  async function deliver(node) {
    setState(node, "pending");
    // the same client_id on every retry: the server stores the message once
    const ack = await send("message.send", { to: partner, body: node.dataset.body, client_id: node.dataset.clientId });
    if (ack?.ok) {
      node.dataset.messageId = ack.message.id;
      node.querySelector(".meta").firstChild.replaceWith(timeEl(ack.message.created_at));
      setState(node, "sent");
    } else {
      setState(node, "failed");
      if (ack?.error && ack.error !== "timeout" && ack.error !== "offline") node.title = ack.error;
    }
  }

  function submit() {
    const body = textarea.value.trim();
    if (!body) return;
    chat.querySelector(".empty")?.remove();
    const node = bubble({ body, client_id: newClientId() }, true);
    node.dataset.body = body;
    chat.append(node);
    textarea.value = "";
    scrollDown();
    deliver(node);
  }

  if (composer && textarea) {
    composer.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
    textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    let lastTyping = 0;
    textarea.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 2000 && textarea.value) { lastTyping = now; send("typing", { to: partner }, 3000); }
    });
  }

  function markRead() {
    const theirs = [...chat.querySelectorAll(".msg.theirs[data-message-id]")];
    const newest = theirs.length ? Number(theirs.at(-1).dataset.messageId) : 0;
    if (newest && document.visibilityState === "visible") send("message.read", { with: partner, last_read_id: newest });
  }
  document.addEventListener("visibilitychange", markRead);

  let typingTimer = null;
  bus.addEventListener("typing", (e) => {
    if (e.detail.from !== partnerId) return;
    typingLine.textContent = t("typing", { name: e.detail.username });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingLine.textContent = ""; }, 3500);
  });

  bus.addEventListener("message.created", (e) => {
    const m = e.detail;
    const mine = m.sender.id === me;
    const other = mine ? m.recipient.id : m.sender.id;
    if (other !== partnerId) return;
    if (chat.querySelector(`[data-message-id="${m.id}"]`)) return;
    const pending = m.client_id && chat.querySelector(`[data-client-id="${CSS.escape(m.client_id)}"]`);
    if (pending) {  // our own send, confirmed (maybe from another tab's view of it)
      pending.dataset.messageId = m.id;
      setState(pending, "sent");
      return;
    }
    chat.querySelector(".empty")?.remove();
    const stick = atBottom();
    chat.append(bubble(m, mine));
    if (!mine) { typingLine.textContent = ""; markRead(); }
    if (stick || mine) scrollDown();
  });

  bus.addEventListener("message.read", (e) => {
    if (e.detail.reader === partnerId) { partnerReadId = Math.max(partnerReadId, e.detail.last_read_id); updateSeen(); }
  });

  chat.addEventListener("scroll", async () => {
    if (!hasOlder || chat.scrollTop > 40 || chat.dataset.loading) return;
    chat.dataset.loading = "1";
    const oldest = chat.querySelector(".msg[data-message-id]")?.dataset.messageId;
    try {
      const r = await fetch(`/api/messages?with=${encodeURIComponent(partner)}&before=${oldest}&per_page=50`, { credentials: "same-origin" });
      if (!r.ok) throw new Error(r.statusText);
      const body = await r.json();
      const height = chat.scrollHeight;
      const marker = chat.querySelector(".older-marker");
      for (const m of body.items) {  // newest first: each goes above the previous
        (marker ? marker.after.bind(marker) : chat.prepend.bind(chat))(bubble(m, m.sender.id === me));
      }
      hasOlder = Boolean(body._links.next);
      if (!hasOlder) marker?.remove();
      chat.scrollTop = chat.scrollHeight - height;  // keep the reader's place
      updateSeen();
    } catch {
      chat.querySelector(".older-marker")?.replaceChildren(t("older_failed"));
    } finally {
      delete chat.dataset.loading;
    }
  });

  updateSeen();
  scrollDown();
}

if (inbox) {
  bus.addEventListener("message.created", (e) => {
    const m = e.detail;
    const mine = m.sender.id === me;
    const other = mine ? m.recipient : m.sender;
    let row = inbox.querySelector(`[data-partner-id="${other.id}"]`);
    if (!row) {
      // a new conversation: show it with the same parts the server renders
      document.getElementById("no-conversations")?.remove();
      row = el("a", "list-group-item list-group-item-action d-flex gap-3 align-items-center conversation");
      row.href = `/messages/${encodeURIComponent(other.username)}`;
      row.dataset.partnerId = other.id;
      const main = el("div", "flex-grow-1 min-w-0");
      const top = el("div", "d-flex justify-content-between gap-2");
      top.append(el("strong", "partner-name", other.username), el("small", "text-body-secondary text-nowrap"));
      const bottom = el("div", "d-flex justify-content-between gap-2");
      bottom.append(el("span", "text-body-secondary text-truncate preview"), el("span", "badge rounded-pill text-bg-primary unread d-none", "0"));
      main.append(top, bottom);
      row.append(main);
    }
    row.querySelector(".preview").textContent = `${mine ? t("you") + " " : ""}${m.body}`;
    row.querySelector("small")?.replaceChildren(timeEl(m.created_at));
    if (!mine) {
      const badge = row.querySelector(".unread");
      badge.textContent = String(Number(badge.textContent || 0) + 1);
      badge.classList.remove("d-none");
    }
    inbox.prepend(row);  // newest conversation first
  });
  bus.addEventListener("message.read", (e) => {
    if (e.detail.reader !== me) return;
    const badge = inbox.querySelector(`[data-partner-id="${e.detail.partner}"] .unread`);
    if (badge) { badge.textContent = "0"; badge.classList.add("d-none"); }
  });
}
