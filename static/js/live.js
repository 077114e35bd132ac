// Live pages: timelines, comments, the bell, toasts and the connection badge.
import { bus, me, start, subscribe, t } from "./realtime.js";
import { relativeTime } from "./app.js";
import { translateControl } from "./translate.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function identicon(author, size) {
  // same look as the server's cards: the local identicon, upgraded to Gravatar if it loads
  const hash = (author.avatar.match(/avatar\/([0-9a-f]{32})/) || [])[1] || "0".repeat(32);
  const img = el("img", { class: "avatar rounded", width: size, height: size, alt: "",
                          src: `/avatar/${hash}.svg` });
  const probe = new Image();
  probe.onload = () => { img.src = probe.src; };
  probe.src = author.avatar;
  return img;
}

function timeEl(iso) {
  const date = new Date(iso);
  return el("time", { datetime: iso, "data-relative": "", title: date.toLocaleString(),
                      text: relativeTime(date) });
}

// --- the connection badge ---------------------------------------------------------------

const badge = document.getElementById("live-status");
bus.addEventListener("connection", (e) => {
  if (!badge) return;
  badge.dataset.state = e.detail;
  badge.textContent = t(e.detail);
  badge.className = "badge rounded-pill border " + (
    e.detail === "live" ? "text-bg-success" : e.detail === "reconnecting" ? "text-bg-warning" : "text-bg-light");
});

// --- timelines --------------------------------------------------------------------------

// `highlight`: a search hit's body as the server sent it (escaped text and <mark>s)
export function postCard(post, highlight = null) {
  const profile = `/user/${encodeURIComponent(post.author.username)}`;
  const body = el("p", { class: "post-body mb-0" });
  if (highlight == null) body.textContent = post.body;
  else body.append(marked(highlight));
  return el("article", { class: "post card mb-2 post-new", "data-post-id": post.id, lang: post.language || "" },
    el("div", { class: "card-body d-flex gap-3" },
      el("a", { href: profile }, identicon(post.author, 48)),
      el("div", { class: "flex-grow-1 min-w-0" },
        el("div", { class: "small text-body-secondary" },
          el("a", { class: "fw-semibold text-body text-decoration-none", href: profile, text: post.author.username }),
          " · ",
          el("a", { class: "text-body-secondary", href: `/post/${post.id}` }, timeEl(post.created_at))),
        body,
        translateControl("post", post.id, post.language))));
}

function marked(html) {
  // only text and <mark> are taken from the highlight, whatever else it might hold
  const parsed = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html").body;
  const out = document.createDocumentFragment();
  for (const node of parsed.firstChild?.childNodes ?? []) {
    out.append(node.nodeName === "MARK" ? el("mark", { text: node.textContent })
      : document.createTextNode(node.textContent));
  }
  return out;
}

// A list of post cards that live posts join: on top at once when the reader is at the top
// and nothing waits (unless `queue`: always through the bar), otherwise behind the
// "N new posts" bar until it is clicked. Each post once.
export function liveTimeline(section, bar, { queue = false } = {}) {
  const pending = [];
  const shown = (id) => section.querySelector(`article.post[data-post-id="${id}"]`);

  function insert(posts) {
    // newest first, each once
    posts.sort((a, b) => b.id - a.id);
    for (const post of posts.reverse()) {
      if (shown(post.id)) continue;
      section.querySelector("p.text-body-secondary:only-child")?.remove();
      section.prepend(postCard(post, post.highlight));
    }
  }

  function showPending() {
    if (!bar) return;
    const button = bar.querySelector("button");
    button.textContent = pending.length === 1 ? t("new_posts_one") : t("new_posts_many", { n: pending.length });
    bar.classList.toggle("d-none", pending.length === 0);
  }

  bar?.querySelector("button").addEventListener("click", () => {
    insert(pending.splice(0));
    showPending();
    window.scrollTo({ top: 0, behavior: "smooth" });
  });

  return {
    add(posts) {
      const fresh = posts.filter((p, i) => !shown(p.id) && !pending.some((q) => q.id === p.id)
        && posts.findIndex((q) => q.id === p.id) === i);
      if (!fresh.length) return;
      if (!queue && window.scrollY < 150 && !pending.length) insert(fresh);
      else { pending.push(...fresh); showPending(); }
    },
    remove(id) {
      shown(id)?.remove();
      const i = pending.findIndex((p) => p.id === id);
      if (i >= 0) { pending.splice(i, 1); showPending(); }
    },
    newestId() {
      const first = section.querySelector("article.post");
      return Math.max(first ? Number(first.dataset.postId) : 0, ...pending.map((p) => p.id));
    },
  };
}

const timeline = document.querySelector("#timeline[data-stream]");

function wanted(post) {
  const stream = timeline.dataset.stream;
  if (stream.startsWith("user:")) return post.author.id === Number(stream.slice(5));
  return true;  // home receives only followed authors and own posts; explore receives all
}

if (timeline) {
  const stream = timeline.dataset.stream;
  const live = liveTimeline(timeline, document.getElementById("new-posts"));
  if (stream !== "home") subscribe(stream);
  bus.addEventListener("post.created", (e) => {
    if (wanted(e.detail)) live.add([e.detail]);
  });
  bus.addEventListener("post.deleted", (e) => live.remove(e.detail.id));
  bus.addEventListener("resync", async () => {
    // posts published while we were disconnected: ask the API for everything newer
    const url = stream === "home" ? "/api/timeline" : stream === "explore" ? "/api/posts"
      : `/api/users/${stream.slice(5)}/posts`;
    const response = await fetch(`${url}?since_id=${live.newestId()}&per_page=100`, { credentials: "same-origin" });
    if (!response.ok) return;
    live.add((await response.json()).items);
  });
}

// --- comments on a post's page ----------------------------------------------------------

const comments = document.querySelector("#comments[data-post-id]");
if (comments) {
  subscribe(`post:${comments.dataset.postId}`);
  bus.addEventListener("comment.created", (e) => {
    const c = e.detail;
    if (c.post_id !== Number(comments.dataset.postId)) return;
    if (comments.querySelector(`[data-comment-id="${c.id}"]`)) return;
    comments.querySelector("p.text-body-secondary:only-child")?.remove();
    const profile = `/user/${encodeURIComponent(c.author.username)}`;
    comments.append(el("div", { class: "comment d-flex gap-2 py-2 border-bottom", "data-comment-id": c.id },
      identicon(c.author, 32),
      el("div", {},
        el("div", { class: "small text-body-secondary" },
          el("a", { class: "fw-semibold text-body", href: profile, text: c.author.username }), " · ", timeEl(c.created_at)),
        el("p", { class: "mb-0 comment-body", text: c.body }),
        translateControl("comment", c.id, c.language))));
  });
}

// --- notifications: bell, menu, toasts ----------------------------------------------------

const bellCount = document.getElementById("bell-count");
function setUnread(n) {
  if (!bellCount) return;
  bellCount.textContent = n > 99 ? "99+" : String(n);
  bellCount.classList.toggle("d-none", n === 0);
}

export function describe(n) {
  const who = n.data?.user?.username ?? "?";
  if (n.kind === "follow") return t("follow", { user: who });
  if (n.kind === "comment") return t("comment", { user: who, excerpt: n.data.excerpt ?? "" });
  if (n.kind === "task_progress") return t(n.data.status === "failed" ? "export_failed" : "export_ready");
  return t("notification");
}

function link(n) {
  if (n.kind === "follow") return `/user/${encodeURIComponent(n.data.user.username)}`;
  if (n.kind === "comment") return `/post/${n.data.post_id}`;
  if (n.kind === "task_progress") return "/exports";
  return "/notifications";
}

function toast(text, href) {
  const container = document.getElementById("toasts");
  if (!container || !window.bootstrap) return;
  const node = el("div", { class: "toast", role: "status", "aria-live": "polite", "aria-atomic": "true" },
    el("div", { class: "toast-body d-flex gap-2 align-items-center" },
      el("a", { href, class: "text-body flex-grow-1", text }),
      el("button", { type: "button", class: "btn-close", "data-bs-dismiss": "toast", "aria-label": "Close" })));
  container.append(node);
  node.addEventListener("hidden.bs.toast", () => node.remove());
  new window.bootstrap.Toast(node, { delay: 6000 }).show();
}

const menuItems = document.getElementById("notification-items");
function menuEntry(n) {
  return el("a", { class: `list-group-item list-group-item-action small${n.read ? "" : " list-group-item-primary"}`,
                   href: link(n), "data-notification-id": n.id },
    el("div", { text: describe(n) }), el("div", { class: "text-body-secondary" }, timeEl(n.created_at)));
}

async function loadMenu() {
  const response = await fetch("/api/notifications?per_page=8", { credentials: "same-origin" });
  if (!response.ok) return;
  const body = await response.json();
  menuItems.replaceChildren(...(body.items.length ? body.items.map(menuEntry)
    : [el("div", { class: "p-3 text-body-secondary small", text: t("none") })]));
  setUnread(body.unread);
}

async function markAllRead() {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch("/notifications/read", {
    method: "POST", credentials: "same-origin",
    headers: { "X-CSRFToken": token, Accept: "application/json" },
  });
  if (response.ok) setUnread((await response.json()).unread);
}

document.getElementById("bell")?.addEventListener("show.bs.dropdown", loadMenu);
document.getElementById("mark-all-read")?.addEventListener("click", markAllRead);

// a background task's row on the exports page: progress bar, status, links
function showTask(data) {
  const item = document.querySelector(`[data-task-id="${CSS.escape(data.task_id)}"]`);
  if (!item) return;
  item.dataset.status = data.status;
  const bar = item.querySelector(".progress");
  bar.classList.toggle("d-none", data.status === "complete" || data.status === "failed");
  bar.setAttribute("aria-valuenow", String(data.progress));
  const fill = bar.querySelector(".progress-bar");
  fill.style.width = `${data.progress}%`;
  fill.textContent = `${data.progress}%`;
  const badge = item.querySelector(".task-status");
  badge.textContent = t(`task_${data.status}`);
  badge.className = `badge ms-2 task-status ${data.status === "complete" ? "text-bg-success"
    : data.status === "failed" ? "text-bg-danger" : "text-bg-secondary"}`;
  if (data.status === "complete") {
    item.querySelector(".task-json").href = data.url;
    item.querySelector(".task-csv").href = data.csv_url;
    item.querySelector(".task-links").classList.remove("d-none");
  }
  if (data.status === "failed") item.querySelector(".task-error").textContent = data.error ?? "";
  const start = document.getElementById("start-export");
  if (start) start.disabled = !["complete", "failed"].includes(data.status) ? true
    : !!document.querySelector('#export-list [data-status="queued"], #export-list [data-status="active"]');
}

bus.addEventListener("notification", (e) => {
  const n = e.detail;
  if (n.kind === "task_progress") showTask(n.data);
  // a progress report is not a notification: it is neither listed nor counted
  if (n.id === null || n.id === undefined) return;
  setUnread(n.unread);
  if (menuItems?.closest(".dropdown-menu")?.classList.contains("show")) {
    menuItems.querySelector(".p-3")?.remove();
    menuItems.prepend(menuEntry({ ...n, read: false }));
  }
  const list = document.getElementById("notification-list");
  if (list) {
    list.querySelector("li.text-body-secondary")?.remove();
    list.prepend(el("li", { class: "list-group-item list-group-item-primary", "data-notification-id": n.id },
      el("a", { href: link(n), text: describe(n) })));
  }
  if (["follow", "comment", "task_progress"].includes(n.kind)) toast(describe(n), link(n));
});
bus.addEventListener("notifications.read", (e) => {
  setUnread(e.detail.unread);
  for (const item of document.querySelectorAll("[data-notification-id].list-group-item-primary")) {
    if (Number(item.dataset.notificationId) <= e.detail.last_read_id) item.classList.remove("list-group-item-primary");
  }
});

// the navbar's unread messages badge, in every tab
const messagesCount = document.getElementById("messages-count");
function setUnreadMessages(n) {
  if (!messagesCount || typeof n !== "number") return;
  messagesCount.textContent = n > 99 ? "99+" : String(n);
  messagesCount.classList.toggle("d-none", n === 0);
}
bus.addEventListener("message.created", (e) => {
  if (e.detail.recipient.id === me) setUnreadMessages(e.detail.unread);
});
bus.addEventListener("message.read", (e) => {
  if (e.detail.reader === me) setUnreadMessages(e.detail.unread);
});

start();
