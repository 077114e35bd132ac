// A small card over a username (the Mega-Tutorial's user popup): who it is, their counts,
// when they were last seen and a Follow button. It shows after the pointer rests on the link
// for a moment, or when the link gets the keyboard's focus; Escape or leaving both closes it.
// Delegated from the document, so cards and comments that arrive live have it too. The card
// is HTML the server renders (GET /people/<name>/card, escaped by Jinja), put right after the
// link so that Tab goes from the link into the card's links and button.
import { upgradeAvatar } from "./app.js";

const LINKS = [
  'article.post a.fw-semibold[href^="/user/"]',  // a post card's author
  '.comment a.fw-semibold[href^="/user/"]',  // a comment's author
  'a.mention[href^="/user/"]',  // an @mention in a text
  "a[data-user-card][href^=\"/user/\"]",  // anything else that asks for it
].join(", ");
const SHOW_AFTER_MS = 400;
const HIDE_AFTER_MS = 250;
const cards = new Map();  // username -> Promise<DocumentFragment | null>

let pop = null;  // the card on show: <div class="user-card-pop">
let owner = null;  // its link
let showTimer = null;
let hideTimer = null;
let dismissed = null;  // the link whose card Escape closed: its focus does not reopen it

function usernameOf(link) {
  const url = new URL(link.href, window.location.href);
  const match = /^\/user\/([^/]+)$/.exec(url.pathname);
  return url.origin === window.location.origin && match ? decodeURIComponent(match[1]) : null;
}

function fetchCard(username) {
  let card = cards.get(username);
  if (!card) {
    const here = window.location.pathname + window.location.search;
    card = fetch(`/people/${encodeURIComponent(username)}/card?next=${encodeURIComponent(here)}`,
      { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => (html === null ? null
        : new DOMParser().parseFromString(html, "text/html").body))
      .catch(() => null);
    cards.set(username, card);
    card.then((body) => { if (!body) cards.delete(username); });
  }
  return card;
}

function place(card, link) {
  // the card's containing block is the link's offset parent: put it under the link, inside
  // the viewport's width
  const parent = card.offsetParent ?? document.body;
  const box = parent.getBoundingClientRect();
  const at = link.getBoundingClientRect();
  const width = card.offsetWidth;
  const left = Math.max(8, Math.min(at.left, window.innerWidth - width - 8));
  card.style.left = `${left - box.left - parent.clientLeft}px`;
  card.style.top = `${at.bottom - box.top - parent.clientTop + 4}px`;
}

function hide({ refocus = false } = {}) {
  clearTimeout(showTimer);
  clearTimeout(hideTimer);
  if (!pop) return;
  const link = owner;
  const hadFocus = pop.contains(document.activeElement);
  pop.remove();
  pop = null;
  owner = null;
  link?.removeAttribute("aria-describedby");
  if (refocus) {
    dismissed = link;
    if (hadFocus) link?.focus();
  }
}

async function show(link) {
  const username = usernameOf(link);
  if (!username || owner === link) return;
  const body = await fetchCard(username);
  if (!body || !link.isConnected) return;
  // the pointer or the focus may have moved on while the card was on its way
  if (!(link.matches(":hover") || link === document.activeElement)) return;
  hide();
  pop = document.createElement("div");
  pop.className = "user-card-pop card shadow";
  pop.id = "user-card-pop";
  pop.setAttribute("role", "group");
  pop.setAttribute("aria-label", username);
  const inner = document.createElement("div");
  inner.className = "card-body p-3";
  for (const node of body.childNodes) inner.append(document.importNode(node, true));
  pop.append(inner);
  link.insertAdjacentElement("afterend", pop);
  owner = link;
  link.setAttribute("aria-describedby", pop.id);
  place(pop, link);
  for (const img of pop.querySelectorAll("img.avatar[data-gravatar]")) upgradeAvatar(img);
}

function soon(link) {
  clearTimeout(hideTimer);
  clearTimeout(showTimer);
  if (owner === link) return;
  showTimer = setTimeout(() => show(link), SHOW_AFTER_MS);
}

function later() {
  clearTimeout(showTimer);
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => hide(), HIDE_AFTER_MS);
}

const linkOf = (target) => {
  const link = target instanceof Element ? target.closest(LINKS) : null;
  return link && !link.closest(".user-card-pop") ? link : null;
};

document.addEventListener("pointerover", (event) => {
  if (event.pointerType !== "mouse") return;  // a touch opens the profile, as a link does
  const link = linkOf(event.target);
  if (link) {
    if (!link.contains(event.relatedTarget)) dismissed = null;  // the pointer came back
    soon(link);
  } else if (pop && pop.contains(event.target)) {
    clearTimeout(hideTimer);
  }
});
document.addEventListener("pointerout", (event) => {
  if (event.pointerType !== "mouse") return;
  const from = linkOf(event.target) ?? (pop && pop.contains(event.target) ? pop : null);
  if (!from) return;
  const to = event.relatedTarget;
  if (to instanceof Node && (from.contains(to) || pop?.contains(to) || owner?.contains(to))) return;
  if (from !== pop && from !== owner) clearTimeout(showTimer);  // left before it showed
  else later();
});
document.addEventListener("focusin", (event) => {
  const link = linkOf(event.target);
  if (link && link === dismissed) return;
  dismissed = null;
  if (link && link.matches(":focus-visible")) {
    clearTimeout(hideTimer);
    if (owner !== link) {
      hide();
      show(link);
    }
  } else if (pop && (pop.contains(event.target) || event.target === owner)) {
    clearTimeout(hideTimer);
  } else if (pop) {
    hide();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && pop) {
    hide({ refocus: true });
  }
});
window.addEventListener("resize", () => hide());
