// Search: the navbar box's keys on every page, and live results on the search page.
import { bus, subscribe, unsubscribe } from "./realtime.js";
import { liveTimeline } from "./live.js";

// --- keys: "/" goes to the search box, Escape leaves it -----------------------------------

function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable
    || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (e) => {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  if (typingIn(e.target)) return;
  // the search page's own box when there is one, else the navbar's
  const box = document.querySelector("main [data-search-box]") ?? document.getElementById("navbar-q");
  if (!box) return;
  e.preventDefault();
  box.focus();
  box.select();
});

for (const box of document.querySelectorAll("[data-search-box]")) {
  box.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    e.preventDefault();  // a search field would also clear itself: keep what was typed
    box.blur();
  });
}

// --- live results: new posts that match the query join behind the "N new posts" bar ----

const results = document.querySelector("#search-results[data-live-q]");
if (results) {
  const q = results.dataset.liveQ;
  // always through the bar: results the reader is looking at do not move by themselves
  const live = liveTimeline(results, document.getElementById("new-posts"), { queue: true });
  // data-live: "on" once the server follows the query for us, "off" if it refused
  const follow = () => subscribe("search", { q }, (ack) => {
    results.dataset.live = ack?.ok ? "on" : "off";
  });
  follow();
  bus.addEventListener("search.result", (e) => {
    if (e.detail?.q === q && e.detail.post) live.add([{ ...e.detail.post }]);
  });
  bus.addEventListener("resync", async () => {
    // posts that matched while we were disconnected: the newest results again
    const params = new URLSearchParams({ q, sort: "latest", per_page: "25" });
    const response = await fetch(`/api/search?${params}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const newest = live.newestId();
    live.add((await response.json()).items.filter((post) => post.id > newest));
  });
  bus.addEventListener("post.deleted", (e) => live.remove(e.detail.id));
  // "N results" counts the posts shown live too
  const count = document.getElementById("search-count");
  if (count) {
    new MutationObserver((changes) => {
      const added = changes.reduce((n, c) => n + [...c.addedNodes].filter(
        (node) => node.nodeName === "ARTICLE").length, 0);
      if (!added) return;
      const n = Number(count.dataset.count) + added;
      count.dataset.count = String(n);
      count.textContent = (n === 1 ? count.dataset.one : count.dataset.other).replace(/\d+/, String(n));
    }).observe(results, { childList: true });
  }
  // leaving (or going into the back/forward cache): stop the server's matching for us
  window.addEventListener("pagehide", () => {
    unsubscribe("search", { q });
    delete results.dataset.live;
  });
  window.addEventListener("pageshow", (e) => { if (e.persisted) follow(); });
}
