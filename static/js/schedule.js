// Scheduled posts. A datetime-local input holds a time without a zone: the reader means
// their own, so on submit we send the browser's offset from UTC *for that moment* (daylight
// saving included) in the form's tz_offset field. Without this script the server reads the
// time as UTC, and the help text says so; with it, the help says "Your local time."

const lang = document.documentElement.lang || undefined;
const pad = (n) => String(n).padStart(2, "0");

// A Date as a datetime-local value in the browser's zone.
function localValue(date) {
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const seconds = date.getSeconds() ? `:${pad(date.getSeconds())}` : "";
  return `${day}T${pad(date.getHours())}:${pad(date.getMinutes())}${seconds}`;
}

for (const input of document.querySelectorAll("input[data-schedule]")) {
  const form = input.form;
  if (!form) continue;
  // the server renders a stored time in UTC: show it in local time
  if (input.dataset.utc) {
    const date = new Date(`${input.dataset.utc}Z`);
    if (!Number.isNaN(date.getTime())) input.value = localValue(date);
  }
  const now = new Date();
  now.setSeconds(0, 0);
  input.min = localValue(now);

  form.addEventListener("submit", () => {
    const offset = form.querySelector("input[name='tz_offset']");
    if (!offset) return;
    const date = new Date(input.value); // a value without a zone is read as local time
    offset.value = input.value && !Number.isNaN(date.getTime())
      ? String(date.getTimezoneOffset()) : "";
  });

  // the submit button says what it will do
  const submit = form.querySelector("[data-schedule-label]");
  if (submit) {
    const label = submit.value;
    const update = () => { submit.value = input.value ? submit.dataset.scheduleLabel : label; };
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    update();
  }
}

// The help text under a time field: the page says UTC, which is what the server reads without
// this script; with it, the time is the reader's own.
for (const note of document.querySelectorAll("[data-zone-note]")) {
  note.textContent = note.dataset.zoneNote;
}

// The composer's "Schedule for later" waits behind a clock button (aria-expanded,
// aria-controls). Without this script the button stays hidden and the field shows. The field
// stays open when it has a time or an error; closing it clears the time, so what is hidden
// never schedules a post.
for (const toggle of document.querySelectorAll("[data-schedule-toggle]")) {
  const section = document.getElementById(toggle.getAttribute("aria-controls"));
  const input = section?.querySelector("input[data-schedule]");
  if (!section || !input) continue;
  const setOpen = (open) => {
    section.classList.toggle("d-none", !open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.classList.toggle("active", open);
  };
  setOpen(Boolean(input.value) || Boolean(section.querySelector(".is-invalid")));
  toggle.classList.remove("d-none");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    setOpen(open);
    if (open) {
      input.focus();
    } else if (input.value) {
      input.value = "";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
}

// Absolute times in the reader's zone and language (the server wrote them in UTC).
for (const el of document.querySelectorAll("time[data-local]")) {
  const date = new Date(el.getAttribute("datetime"));
  if (Number.isNaN(date.getTime())) continue;
  el.textContent = date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
}
