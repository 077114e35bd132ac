// Small progressive enhancements; every page works without JavaScript.

// The language menu submits itself when changed.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}

// A live character counter for text areas with a data-maxlength (posts, comments): the
// characters left, counted as the server counts them (services.posts.clean_body: the stripped
// text's Unicode code points, so an emoji is one, not the two UTF-16 units of .length). Past
// the limit it turns red and the form's submit button waits; the server stays the judge.
// The counter is the element with data-counter-for="<the area's id>", or one made under it.
export function characterCount(text) {
  return [...text.trim()].length;
}

for (const area of document.querySelectorAll("textarea[data-maxlength]")) {
  const max = Number(area.dataset.maxlength);
  if (!max) continue;
  let counter = area.id ? document.querySelector(`[data-counter-for="${CSS.escape(area.id)}"]`) : null;
  if (!counter) {
    counter = document.createElement("small");
    counter.className = "d-block text-end text-body-secondary mt-1 char-counter";
    counter.setAttribute("aria-live", "polite");
    if (area.id) counter.dataset.counterFor = area.id;
    area.insertAdjacentElement("afterend", counter);
  }
  const submits = area.form ? area.form.querySelectorAll("[type=submit]") : [];
  const update = () => {
    const left = max - characterCount(area.value);
    counter.textContent = `${left}`;
    counter.classList.toggle("text-body-secondary", left >= 20);
    counter.classList.toggle("text-danger", left < 0);
    counter.classList.toggle("text-warning-emphasis", left >= 0 && left < 20);
    counter.classList.toggle("fw-semibold", left < 0);
    for (const button of submits) button.disabled = left < 0;
  };
  area.addEventListener("input", update);
  update();
}

// Progress bars take their width from data-progress: the Content-Security-Policy allows no
// style attribute in the page, but a script may set a style property.
for (const bar of document.querySelectorAll(".progress-bar[data-progress]")) {
  bar.style.width = `${Number(bar.dataset.progress) || 0}%`;
}

// Avatars render as local identicons, at once and offline; Gravatar is only an enhancement.
// Its probes never delay the page's load event (they start after it), give up after
// GRAVATAR_TIMEOUT_MS, and the first one goes alone: if it fails (offline, blocked, slow),
// no other avatar on this page tries, so an offline page makes one request, not one each.
const GRAVATAR_TIMEOUT_MS = 3000;
let gravatarGate = null;  // the first probe: Promise<boolean>
let gravatarFailed = false;  // a probe on this page failed: no more probes
const gravatarProbes = new Map();  // url -> Promise<boolean>
const pageLoaded = new Promise((resolve) => {
  if (document.readyState === "complete") resolve();
  else window.addEventListener("load", () => resolve(), { once: true });
});

function probeGravatar(url) {
  let probing = gravatarProbes.get(url);
  if (!probing) {
    probing = new Promise((resolve) => {
      const probe = new Image();
      const done = (ok) => {
        clearTimeout(timer);
        probe.onload = probe.onerror = null;
        if (!ok) {
          gravatarFailed = true;
          probe.removeAttribute("src");  // stop waiting on it
        }
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), GRAVATAR_TIMEOUT_MS);
      probe.onload = () => done(probe.naturalWidth > 0);
      probe.onerror = () => done(false);
      probe.src = url;
    });
    gravatarProbes.set(url, probing);
  }
  return probing;
}

// Swap `img`'s identicon for its Gravatar (data-gravatar, or `url`) once that has loaded.
export async function upgradeAvatar(img, url = img.dataset.gravatar) {
  if (!url) return;
  await pageLoaded;
  if (gravatarGate === null) gravatarGate = probeGravatar(url);
  else await gravatarGate;
  if (gravatarFailed) return;
  if (await probeGravatar(url)) img.src = url;
}

for (const img of document.querySelectorAll("img.avatar[data-gravatar]")) upgradeAvatar(img);

// Times: the server writes an absolute UTC time; show "5 minutes ago" in the page's
// language, with the reader's local date and time on hover.
const rtf = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
  ["hour", 3600], ["minute", 60], ["second", 1]];
export function relativeTime(date, now = Date.now()) {
  const seconds = (date.getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return rtf.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}
function refreshTimes(root = document) {
  for (const el of root.querySelectorAll("time[data-relative]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    el.textContent = relativeTime(date);
    el.title = date.toLocaleString(document.documentElement.lang || undefined);
  }
}
refreshTimes();
setInterval(refreshTimes, 60_000);

// Destructive actions ask first: a form (or a button) with data-confirm="question" is only
// submitted once the question is answered OK. Capturing, so it runs before other handlers.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = event.submitter?.dataset.confirm ?? form.dataset?.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("click", (event) => {
  // a button or link that does not submit a form (a form's own buttons are asked on submit)
  const target = event.target.closest?.("[data-confirm]:not(form)");
  if (!target || target.form || target.closest("form")) return;
  if (!window.confirm(target.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// A link to a comment (/post/1#comment-2, from a notification) scrolls to it and marks it.
function showLinkedComment() {
  const match = /^#comment-(\d+)$/.exec(window.location.hash);
  if (!match) return;
  const comment = document.getElementById(`comment-${match[1]}`)
    ?? document.querySelector(`[data-comment-id="${match[1]}"]`);
  if (!comment) return;
  comment.classList.remove("comment-target");
  void comment.offsetWidth;  // restart the highlight
  comment.classList.add("comment-target");
  comment.scrollIntoView({ block: "center" });
}
showLinkedComment();
window.addEventListener("hashchange", showLinkedComment);

// The exports page just after "Export my posts", when the export was done before the page
// loaded: its bar still fills up for a moment before the links show, and the "started"
// banner goes (while it runs, static/js/live.js does the same when it ends).
const exportStarted = document.querySelector('.alert[data-flash="export-started"]');
const exportList = document.getElementById("export-list");
if (exportStarted && exportList
    && !exportList.querySelector('[data-status="queued"], [data-status="active"]')) {
  const row = exportList.querySelector('[data-task-id][data-status="complete"]');
  const bar = row?.querySelector(".progress");
  const fill = bar?.querySelector(".progress-bar");
  const links = row?.querySelector(".task-links");
  if (row === exportList.querySelector("[data-task-id]") && bar && fill && links) {
    links.classList.add("d-none");
    fill.style.width = "0%";
    bar.classList.remove("d-none");
    requestAnimationFrame(() => requestAnimationFrame(() => {
      fill.style.width = "100%";
      fill.textContent = "100%";
      bar.setAttribute("aria-valuenow", "100");
    }));
    setTimeout(() => {
      bar.classList.add("d-none");
      links.classList.remove("d-none");
      exportStarted.remove();
    }, 600);
  } else {
    exportStarted.remove();
  }
}

// Usernames: a card with a Follow button over a username (static/js/people.js); a signed-in
// user's @mention suggestions in the text areas that take them (static/js/composer.js)
import("./people.js");
if (document.body.dataset.userId && document.querySelector("textarea[data-mentions]")) {
  import("./composer.js");
}
