// Live pages: timelines, comments, the bell, toasts and the connection badge.
import { bus, me, start, subscribe, t } from "./realtime.js";
import { relativeTime, upgradeAvatar } from "./app.js";
import { translateControl } from "./translate.js";
import { hashtags, richText } from "./richtext.js";

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
  upgradeAvatar(img, author.avatar);  // after the load event, with a timeout, as app.js does
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

// --- post cards: the same markup as templates/_post_card.html ----------------------------

// the same icons as the `icon` macro of templates/_post_card.html (Bootstrap Icons, drawn by
// static/css/app.css)
const ICONS = { reply: [["chat"]], repost: [["arrow-repeat"]], like: [["heart", " icon-off"], ["heart-fill", " icon-on"]],
                share: [["box-arrow-up"]], more: [["three-dots"]] };

function icon(name) {
  const out = document.createDocumentFragment();
  for (const [drawing, extra = ""] of ICONS[name]) {
    out.append(el("span", { class: `bi bi-${drawing} post-icon${extra}`, "aria-hidden": "true" }));
  }
  return out;
}

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
// this page as a `next` parameter, as the server writes it (quote(path, safe="/"))
const here = () => encodeURIComponent(location.pathname + location.search).replace(/%2F/g, "/");
const hidden = (text) => el("span", { class: "visually-hidden", text });
const countEl = (kind, n) => el("span", { class: "post-count", "data-count": kind, text: n ? String(n) : "" });
const toggleUrl = (id, kind, pressed) => `/post/${id}/${pressed ? "un" : ""}${kind}`;

function repostLine(post) {
  const by = post.reposted_by;
  if (!by) return null;
  const line = el("div", { class: "repost-line small text-body-secondary", "data-reposted-by": by.id },
    el("span", { "aria-hidden": "true", text: "↻" }), " ");
  if (by.id === me) {
    line.append(t("you_reposted"));
  } else {
    const [before, after = ""] = t("reposted_by").split("{name}");
    line.append(before, el("a", { class: "text-body-secondary fw-semibold",
      href: `/user/${encodeURIComponent(by.username)}`, text: by.username }), after);
  }
  return line;
}

function editedLabel(id) {
  return el("span", { class: "post-edited" }, " · ",
    el("a", { class: "text-body-secondary", href: `/post/${id}/history`, text: t("edited") }));
}

function moreMenu(id) {
  return el("div", { class: "dropdown ms-auto" },
    el("button", { type: "button", class: "btn btn-sm post-action more-action", "data-bs-toggle": "dropdown",
                   "aria-expanded": "false" }, icon("more"), hidden(t("more"))),
    el("ul", { class: "dropdown-menu dropdown-menu-end" },
      el("li", {}, el("a", { class: "dropdown-item edit-action", href: `/post/${id}/edit`, text: t("edit") })),
      el("li", {}, el("form", { method: "post", action: `/post/${id}/delete`, "data-confirm": t("delete_confirm") },
        el("input", { type: "hidden", name: "csrf_token", value: csrf() }),
        el("button", { type: "submit", class: "dropdown-item text-danger delete-action", text: t("delete") })))));
}

function actionBar(post) {
  const bar = el("div", { class: "post-actions d-flex flex-wrap align-items-center gap-1 mt-1",
                          lang: document.documentElement.lang },
    el("a", { class: "btn btn-sm post-action reply-action", href: `/post/${post.id}#comment-form` },
      icon("reply"), hidden(t("reply")), countEl("comment", post.comment_count)));
  for (const kind of ["repost", "like"]) {
    const pressed = !!(kind === "like" ? post.liked : post.reposted);
    bar.append(el("form", { class: "post-toggle", method: "post", "data-kind": kind,
                            action: `${toggleUrl(post.id, kind, pressed)}?next=${here()}` },
      el("input", { type: "hidden", name: "csrf_token", value: csrf() }),
      el("button", { type: "submit", class: `btn btn-sm post-action ${kind}-action`, "aria-pressed": String(pressed) },
        icon(kind), hidden(t(kind)), countEl(kind, post[`${kind}_count`]))));
  }
  bar.append(el("a", { class: "btn btn-sm post-action share-action", href: `/post/${post.id}`, "data-share": "" },
    icon("share"), hidden(t("share"))));
  if (post.author.id === me) bar.append(moreMenu(post.id));
  return bar;
}

// `highlight`: a search hit's body as the server sent it (escaped text and <mark>s)
export function postCard(post, highlight = null) {
  const profile = `/user/${encodeURIComponent(post.author.username)}`;
  const body = el("p", { class: "post-body mb-0" });
  if (highlight == null) body.append(richText(post.body));
  else body.append(marked(highlight));
  return el("article", { class: "post card mb-2 post-new", "data-post-id": post.id, lang: post.language || "" },
    repostLine(post),
    el("div", { class: "card-body d-flex gap-3" },
      el("a", { href: profile, "aria-hidden": "true", tabindex: "-1" }, identicon(post.author, 48)),
      el("div", { class: "flex-grow-1 min-w-0" },
        el("div", { class: "small text-body-secondary post-meta" },
          el("a", { class: "fw-semibold text-body text-decoration-none", href: profile, text: post.author.username }),
          " · ",
          el("a", { class: "text-body-secondary", href: `/post/${post.id}` }, timeEl(post.created_at)),
          post.edited_at ? editedLabel(post.id) : null),
        body,
        translateControl("post", post.id, post.language),
        actionBar(post))));
}

// --- the cards' actions: like and repost in place, share, edit inline ---------------------

const cardsOf = (id) => document.querySelectorAll(`article.post[data-post-id="${Number(id)}"]`);

function setCount(card, kind, n) {
  const count = card.querySelector(`.post-count[data-count="${kind}"]`);
  if (count && typeof n === "number") count.textContent = n > 0 ? String(n) : "";
}

function setPressed(card, kind, pressed) {
  const button = card.querySelector(`.${kind}-action[aria-pressed]`);
  if (!button) return;
  button.setAttribute("aria-pressed", String(pressed));
  if (button.form) button.form.action = `${toggleUrl(card.dataset.postId, kind, pressed)}?next=${here()}`;
}

// counts from post.stats, post.updated or an answer; `own`: also the reader's like and repost
function showCounts(id, counts, own = false) {
  for (const card of cardsOf(id)) {
    setCount(card, "like", counts.like_count);
    setCount(card, "repost", counts.repost_count);
    setCount(card, "comment", counts.comment_count);
    if (own) {
      setPressed(card, "like", !!counts.liked);
      setPressed(card, "repost", !!counts.reposted);
    }
  }
}

function note(card, text, error = false) {
  const bar = card.querySelector(".post-actions");
  if (!bar) return;
  bar.querySelector(".post-note")?.remove();
  if (!text) return;
  const span = el("span", { class: `post-note small ${error ? "text-danger" : "text-body-secondary"}`,
                            role: error ? "alert" : "status", text });
  const menu = bar.querySelector(".dropdown");
  if (menu) menu.before(span);
  else bar.append(span);
  return span;
}

const busy = new Set();
async function toggle(form) {
  const card = form.closest("article.post");
  const kind = form.dataset.kind;
  const id = card?.dataset.postId;
  const button = form.querySelector("button[aria-pressed]");
  if (!id || !button || busy.has(`${id}:${kind}`)) return;
  busy.add(`${id}:${kind}`);
  const pressed = button.getAttribute("aria-pressed") === "true";
  // optimistic: every card of the post at once, put back if the server says no
  const before = [...cardsOf(id)].map((c) => [c, c.querySelector(`.post-count[data-count="${kind}"]`)?.textContent ?? ""]);
  for (const [c, text] of before) {
    setPressed(c, kind, !pressed);
    setCount(c, kind, Math.max(0, (Number(text) || 0) + (pressed ? -1 : 1)));
  }
  note(card, "");
  let message = null;
  try {
    const response = await fetch(toggleUrl(id, kind, pressed), {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
    });
    let data = null;
    try { data = await response.json(); } catch { /* not JSON: a proxy's error page */ }
    if (response.ok && data && typeof data.like_count === "number") showCounts(id, data, true);
    else message = data?.message || t("action_failed");
  } catch {
    message = t("action_failed");  // offline
  } finally {
    busy.delete(`${id}:${kind}`);
  }
  if (message !== null) {
    for (const [c, text] of before) {
      setPressed(c, kind, pressed);
      const count = c.querySelector(`.post-count[data-count="${kind}"]`);
      if (count) count.textContent = text;
    }
    note(card, message, true);
  }
}

// capturing, before realtime.js takes a submitted form for the page going away
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("form.post-toggle") || event.defaultPrevented) return;
  event.preventDefault();
  toggle(form);
}, true);

async function share(link) {
  const card = link.closest("article.post");
  const url = new URL(link.getAttribute("href"), location.origin).href;
  try {
    await navigator.clipboard.writeText(url);
    const shown = note(card, t("link_copied"));
    setTimeout(() => shown?.remove(), 4000);
  } catch {
    // no clipboard here: the link in a field, selected, to copy by hand
    note(card, "");
    const bar = card.querySelector(".post-actions");
    bar.querySelector(".share-url")?.remove();
    const field = el("input", { class: "form-control form-control-sm share-url", readonly: "", value: url,
                                "aria-label": t("copy_link") });
    bar.append(field);
    field.focus();
    field.select();
  }
}

async function savePost(id, text) {
  try {
    const response = await fetch(`/post/${id}/edit`, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ body: text }),
    });
    let data = null;
    try { data = await response.json(); } catch { /* not JSON */ }
    if (response.ok && data && typeof data.body === "string") return { ok: true, post: data };
    return { ok: false, message: data?.message || t("action_failed") };
  } catch {
    return { ok: false, message: t("action_failed") };
  }
}

function openEditor(card) {
  const open = card.querySelector(".post-editor");
  if (open) { open.querySelector("textarea").focus(); return; }
  card.querySelector(".translate-original")?.click();  // edit the original, not a translation
  const body = card.querySelector(".post-body");
  const id = card.dataset.postId;
  const errorId = `post-editor-error-${id}`;
  const area = el("textarea", { class: "form-control", rows: "3", "aria-label": t("edit_post"),
                                "aria-describedby": errorId });
  area.value = body.textContent;
  const error = el("div", { class: "invalid-feedback d-block post-editor-error", id: errorId, role: "alert" });
  const save = el("button", { type: "submit", class: "btn btn-primary btn-sm", text: t("save") });
  const cancel = el("button", { type: "button", class: "btn btn-outline-secondary btn-sm", text: t("cancel") });
  const form = el("form", { class: "post-editor mt-1", novalidate: "" }, area, error,
    el("div", { class: "d-flex gap-2 mt-2" }, save, cancel));
  body.hidden = true;
  body.after(form);
  area.focus();
  const close = () => {
    form.remove();
    body.hidden = false;
    card.querySelector(".more-action")?.focus();
  };
  cancel.addEventListener("click", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (save.disabled) return;
    save.disabled = true;
    save.textContent = t("saving");
    error.textContent = "";
    area.classList.remove("is-invalid");
    area.removeAttribute("aria-invalid");
    const answer = await savePost(id, area.value);
    save.disabled = false;
    save.textContent = t("save");
    if (answer.ok) {
      showPost(answer.post);
      close();
    } else {
      area.classList.add("is-invalid");
      area.setAttribute("aria-invalid", "true");
      error.textContent = answer.message;
      area.focus();
    }
  });
}

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const shareLink = target?.closest("a[data-share]");
  if (shareLink?.closest("article.post")) {
    event.preventDefault();
    share(shareLink);
    return;
  }
  const edit = target?.closest("a.edit-action");
  const card = edit?.closest("article.post");
  if (card) {
    event.preventDefault();
    const toggler = card.querySelector(".more-action");
    if (toggler && window.bootstrap) window.bootstrap.Dropdown.getOrCreateInstance(toggler).hide();
    openEditor(card);
  }
});

// an edited post, wherever it is shown: its text, language, Translate control and "edited"
function showPost(post) {
  for (const card of cardsOf(post.id)) {
    const body = card.querySelector(".post-body");
    if (!body) continue;
    body.replaceChildren(richText(post.body));
    body.classList.remove("translated");
    body.removeAttribute("lang");
    card.lang = post.language || "";
    const old = card.querySelector('[data-translate="post"]');
    const fresh = translateControl("post", post.id, post.language);
    if (old && fresh) old.replaceWith(fresh);
    else if (old) old.remove();
    else if (fresh) (card.querySelector(".post-editor") ?? body).after(fresh);
    if (post.edited_at && !card.querySelector(".post-edited")) card.querySelector(".post-meta")?.append(editedLabel(post.id));
    card.classList.remove("post-new");
    void card.offsetWidth;  // restart the highlight
    card.classList.add("post-new");
  }
  showCounts(post.id, post);
}

bus.addEventListener("post.updated", (e) => showPost(e.detail));
bus.addEventListener("post.stats", (e) => showCounts(e.detail.id, e.detail));
// the reader's own repost or undo, made in another tab
bus.addEventListener("post.created", (e) => {
  if (e.detail.reposted_by?.id === me) for (const card of cardsOf(e.detail.id)) setPressed(card, "repost", true);
});
bus.addEventListener("post.unreposted", (e) => {
  if (e.detail.by === me) for (const card of cardsOf(e.detail.id)) setPressed(card, "repost", false);
});

// "Reply" leads to the comment form: its text area takes the focus
function focusCommentForm() {
  if (location.hash === "#comment-form") document.querySelector("#comment-form textarea")?.focus();
}
focusCommentForm();
window.addEventListener("hashchange", focusCommentForm);

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
    // an edited post still waiting behind the bar shows its new text when it comes in
    update(post) {
      const waiting = pending.find((p) => p.id === post.id);
      if (waiting) Object.assign(waiting, { body: post.body, language: post.language, edited_at: post.edited_at });
    },
    // `by` undid their repost of post `id`: the card goes only if it is there for that repost
    removeRepost(id, by) {
      const card = shown(id);
      if (card && Number(card.querySelector(".repost-line")?.dataset.repostedBy) === by) card.remove();
      const i = pending.findIndex((p) => p.id === id && p.reposted_by?.id === by);
      if (i >= 0) { pending.splice(i, 1); showPending(); }
    },
    newestId() {
      const first = section.querySelector("article.post");
      return Math.max(first ? Number(first.dataset.postId) : 0, ...pending.map((p) => p.id));
    },
  };
}

const timeline = document.querySelector("#timeline[data-stream]");

// A socket is in the rooms of the people it follows whatever the page, so the page keeps
// what belongs to it: a profile its owner's posts and reposts, a tag page new posts with
// the tag, explore new posts; home gets exactly its own (followed authors and reposters).
function wanted(post) {
  const stream = timeline.dataset.stream;
  const by = post.reposted_by;
  if (stream.startsWith("user:")) {
    const id = Number(stream.slice(5));
    return by ? by.id === id : post.author.id === id;
  }
  if (stream.startsWith("tag:")) return !by && hashtags(post.body).includes(stream.slice(4));
  if (stream === "explore") return !by;
  return true;
}

if (timeline) {
  const stream = timeline.dataset.stream;
  const live = liveTimeline(timeline, document.getElementById("new-posts"));
  if (stream !== "home") subscribe(stream);
  bus.addEventListener("post.created", (e) => {
    if (wanted(e.detail)) live.add([e.detail]);
  });
  bus.addEventListener("post.deleted", (e) => live.remove(e.detail.id));
  bus.addEventListener("post.unreposted", (e) => live.removeRepost(e.detail.id, e.detail.by));
  bus.addEventListener("post.updated", (e) => live.update(e.detail));
  bus.addEventListener("resync", async () => {
    // posts published while we were disconnected: ask the API for everything newer
    const url = stream === "home" ? "/api/timeline" : stream === "explore" ? "/api/posts"
      : stream.startsWith("tag:") ? `/api/tags/${encodeURIComponent(stream.slice(4))}`
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
        el("p", { class: "mb-0 comment-body" }, richText(c.body)),
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
  if (n.kind === "mention") return t("mention", { user: who, excerpt: n.data.excerpt ?? "" });
  if (n.kind === "like" || n.kind === "repost") {
    // grouped: "bob liked your post", "bob and carol …", "bob and 3 others …"
    const users = n.data?.users ?? [];
    const user = users[0]?.username ?? "?";
    const count = n.data?.count ?? users.length;
    if (count <= 1) return t(`${n.kind}_one`, { user });
    if (count === 2 && users[1]) return t(`${n.kind}_two`, { user, other: users[1].username });
    return t(`${n.kind}_others_${count - 1 === 1 ? "one" : "many"}`, { user, n: count - 1 });
  }
  if (n.kind === "task_progress") return t(n.data.status === "failed" ? "export_failed" : "export_ready");
  return t("notification");
}

// what a notification is about: the follower, the comment, the post
function link(n) {
  if (n.kind === "follow") return `/user/${encodeURIComponent(n.data.user.username)}`;
  if (["comment", "mention", "like", "repost"].includes(n.kind) && n.data?.post_id) {
    return `/post/${n.data.post_id}${n.data.comment_id ? `#comment-${n.data.comment_id}` : ""}`;
  }
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
const BAR_MOMENT_MS = 600;  // a finished bar fills up and stays this long (a quick export too)
function showTask(data) {
  const item = document.querySelector(`[data-task-id="${CSS.escape(data.task_id)}"]`);
  if (!item) return;
  const bar = item.querySelector(".progress");
  const done = data.status === "complete" || data.status === "failed";
  if (done && !bar.classList.contains("d-none") && !item.dataset.finishing) {
    item.dataset.finishing = "1";
    if (data.status === "complete") {
      bar.setAttribute("aria-valuenow", "100");
      bar.querySelector(".progress-bar").style.width = "100%";
      bar.querySelector(".progress-bar").textContent = "100%";
    }
    setTimeout(() => showTask(data), BAR_MOMENT_MS);
    return;
  }
  if (done) document.querySelector('.alert[data-flash="export-started"]')?.remove();
  item.dataset.status = data.status;
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
    menuItems.querySelector(`[data-notification-id="${n.id}"]`)?.remove();  // a grouped one, updated
    menuItems.prepend(menuEntry({ ...n, read: false }));
  }
  const list = document.getElementById("notification-list");
  if (list && (!list.dataset.kind || list.dataset.kind === n.kind)) {  // the Mentions tab: mentions
    list.querySelector("li.text-body-secondary")?.remove();
    list.querySelector(`[data-notification-id="${n.id}"]`)?.remove();
    list.prepend(el("li", { class: "list-group-item list-group-item-primary", "data-notification-id": n.id },
      el("a", { href: link(n), text: describe(n) })));
  }
  if (["follow", "comment", "mention", "task_progress"].includes(n.kind)) toast(describe(n), link(n));
});
bus.addEventListener("notifications.read", (e) => {
  setUnread(e.detail.unread);
  for (const item of document.querySelectorAll("[data-notification-id].list-group-item-primary")) {
    if (Number(item.dataset.notificationId) <= e.detail.last_read_id) item.classList.remove("list-group-item-primary");
  }
});

// the navbar's unread messages badges (the menu's and the phone bar's), in every tab
const messagesCounts = document.querySelectorAll("[data-messages-count]");
function setUnreadMessages(n) {
  if (typeof n !== "number") return;
  for (const count of messagesCounts) {
    count.textContent = n > 99 ? "99+" : String(n);
    count.classList.toggle("d-none", n === 0);
  }
}
bus.addEventListener("message.created", (e) => {
  if (e.detail.recipient.id === me) setUnreadMessages(e.detail.unread);
});
bus.addEventListener("message.read", (e) => {
  if (e.detail.reader === me) setUnreadMessages(e.detail.unread);
});

start();
