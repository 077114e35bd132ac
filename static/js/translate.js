// On-demand translation of posts and comments (issue 13).
//
// The server renders, under a post's or comment's body whose language is not the page's, a
//   <div class="translate" data-translate="post|comment" data-translate-id="ID">
//     <button class="translate-button">Translate</button> <span class="translate-note" aria-live="polite">
// (postCard() and the live comments in live.js add the same through translateControl()).
// A click asks POST /<kind>/<id>/translate once, puts the translation in place of the text
// (as text, never as HTML: it is user text), and a note with "Show original"; both ways
// again use what is already there, with no second request.
import { t } from "./realtime.js";

const SELECTOR = "[data-translate]";
const BODY = { post: ["article.post", ".post-body"], comment: [".comment", ".comment-body"] };
const state = new WeakMap();  // control -> { original: Node[], translation }

function base(code) {
  return String(code || "").split(/[-_]/)[0].toLowerCase();
}

// the configured translator's name ("" when none) and the page's language
export function translatorName() {
  return document.body.dataset.translator || "";
}

export function canTranslate(language) {
  return !!translatorName() && !!base(language) && base(language) !== base(document.documentElement.lang);
}

// the control for a post or comment rendered in the browser, or null when it has none
export function translateControl(kind, id, language) {
  if (!canTranslate(language)) return null;
  const box = document.createElement("div");
  box.className = "translate small mt-1";
  box.dataset.translate = kind;
  box.dataset.translateId = String(id);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-link btn-sm p-0 align-baseline translate-button";
  button.textContent = t("translate");
  const note = document.createElement("span");
  note.className = "translate-note text-body-secondary";
  note.setAttribute("aria-live", "polite");
  box.append(button, " ", note);  // the same spacing as the server's markup
  return box;
}

function bodyOf(box) {
  const [item, body] = BODY[box.dataset.translate] || [];
  return item ? box.closest(item)?.querySelector(body) : null;
}

function linkButton(text, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `btn btn-link btn-sm p-0 align-baseline ${className}`;
  button.textContent = text;
  return button;
}

function setError(note, error) {
  note.classList.toggle("text-danger", error);
  note.classList.toggle("text-body-secondary", !error);
}

function showTranslation(box, focus) {
  const entry = state.get(box);
  const body = bodyOf(box);
  if (!entry || !body) return;
  const { translation } = entry;
  body.textContent = translation.body;
  body.lang = translation.language || "";
  body.classList.add("translated");
  const button = box.querySelector(".translate-button");
  button.hidden = true;
  const note = box.querySelector(".translate-note");
  setError(note, false);
  const from = translation.source_name || translation.source_language || "";
  const provider = translation.provider_name || translatorName();
  const original = linkButton(t("show_original"), "translate-original");
  note.replaceChildren(
    document.createTextNode(`${t("translated_from", { language: from })} · ${provider} · `), original);
  if (focus) original.focus();
}

function showOriginal(box, focus) {
  const entry = state.get(box);
  const body = bodyOf(box);
  if (!entry || !body) return;
  body.replaceChildren(...entry.original);
  body.removeAttribute("lang");
  body.classList.remove("translated");
  const note = box.querySelector(".translate-note");
  setError(note, false);
  note.replaceChildren();
  const button = box.querySelector(".translate-button");
  button.textContent = t("show_translation");
  button.disabled = false;
  button.hidden = false;
  if (focus) button.focus();
}

function showError(box, message, status) {
  const button = box.querySelector(".translate-button");
  button.textContent = t("translate");
  button.disabled = false;
  button.hidden = false;
  const note = box.querySelector(".translate-note");
  setError(note, true);
  if (status === 401) {
    const login = document.body.dataset.loginUrl || "/auth/login";
    const next = location.pathname + location.search;
    const link = document.createElement("a");
    link.href = `${login}?next=${encodeURIComponent(next)}`;
    link.className = "translate-login";
    link.textContent = t("sign_in_to_translate");
    note.replaceChildren(link);
  } else {
    note.textContent = message || t("translation_unavailable");
  }
}

async function request(kind, id) {
  const token = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  try {
    const response = await fetch(`/${kind}/${encodeURIComponent(id)}/translate`, {
      method: "POST", credentials: "same-origin", signal: controller.signal,
      headers: { "X-CSRFToken": token, Accept: "application/json", "Content-Type": "application/json" },
      body: "{}",
    });
    let data = null;
    try { data = await response.json(); } catch { /* not JSON: a proxy's error page */ }
    if (response.ok && data && typeof data.body === "string") return { ok: true, data };
    return { ok: false, status: response.status, message: data?.message };
  } catch {
    return { ok: false, status: 0 };  // offline, or no answer in time
  } finally {
    clearTimeout(timer);
  }
}

async function translate(box) {
  const entry = state.get(box);
  if (entry?.translation) { showTranslation(box, true); return; }
  const body = bodyOf(box);
  const button = box.querySelector(".translate-button");
  if (!body || button.disabled) return;
  button.disabled = true;
  button.textContent = t("translating");
  const note = box.querySelector(".translate-note");
  setError(note, false);
  note.replaceChildren();
  const answer = await request(box.dataset.translate, box.dataset.translateId);
  if (!answer.ok) { showError(box, answer.message, answer.status); return; }
  // the original nodes (a search hit's <mark>s too), to put back on "Show original"
  state.set(box, { original: [...body.childNodes], translation: answer.data });
  showTranslation(box, document.activeElement === button || document.activeElement === document.body);
}

// one delegated handler for every control, present and future (a module imported twice
// under two URLs must not answer each click twice)
if (!document.documentElement.hasAttribute("data-translate-ready")) {
  document.documentElement.setAttribute("data-translate-ready", "");
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const box = target?.closest(SELECTOR);
    if (!box) return;
    if (target.closest(".translate-button")) translate(box);
    else if (target.closest(".translate-original")) showOriginal(box, true);
  });
}
