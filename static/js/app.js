// Small progressive enhancements; every page works without JavaScript.

// The language menu submits itself when changed.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}

// A live character counter under text areas that have a maxlength.
for (const counter of document.querySelectorAll("[data-counter-for]")) {
  const area = document.getElementById(counter.dataset.counterFor);
  if (!area) continue;
  const max = Number(area.getAttribute("maxlength"));
  const update = () => {
    const left = max - area.value.length;
    counter.textContent = `${left}`;
    counter.classList.toggle("text-danger", left < 20);
  };
  area.addEventListener("input", update);
  update();
}

// Progress bars take their width from data-progress: the Content-Security-Policy allows no
// style attribute in the page, but a script may set a style property.
for (const bar of document.querySelectorAll(".progress-bar[data-progress]")) {
  bar.style.width = `${Number(bar.dataset.progress) || 0}%`;
}

// Avatars render as local identicons (pages work offline); when Gravatar answers, use it.
for (const img of document.querySelectorAll("img.avatar[data-gravatar]")) {
  const probe = new Image();
  probe.onload = () => { img.src = probe.src; };
  probe.src = img.dataset.gravatar;
}

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
