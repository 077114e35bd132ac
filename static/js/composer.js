// @mention suggestions in the text areas that take them (data-mentions: the composer, the
// comment box). Typing "@al" lists the people whose username starts with "al"
// (GET /people/suggest?q=al); the ARIA combobox pattern over the text area: the list is a
// role=listbox the area controls (aria-controls), the option in focus is its
// aria-activedescendant; ↓/↑ move, Enter or Tab takes it, Escape closes, and so does leaving.

const SUGGEST_URL = "/people/suggest";
const DEBOUNCE_MS = 120;
// an @ that starts a mention (not inside a word, an address or a path, as the server's
// microblog.text.mentions reads them), then the start of a username, up to the caret
const TYPED = /(?:^|[^\w@/.])@(\w{1,32})$/;
const cache = new Map();  // prefix -> Promise<[{username, avatar}]>

function suggestions(prefix) {
  const key = prefix.toLowerCase();
  let found = cache.get(key);
  if (!found) {
    found = fetch(`${SUGGEST_URL}?q=${encodeURIComponent(key)}`, {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    }).then((r) => (r.ok ? r.json() : [])).catch(() => []);
    cache.set(key, found);
    found.then((list) => { if (!Array.isArray(list) || !list.length) cache.delete(key); });
  }
  return found;
}

let serial = 0;

function attach(area) {
  const id = `mentions-${area.id || ++serial}`;
  const list = document.createElement("ul");
  list.id = id;
  list.className = "mention-list list-group shadow-sm d-none";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", area.dataset.mentions || "@");
  // a live summary for screen readers: the names offered (nothing to translate)
  const status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("aria-live", "polite");
  area.insertAdjacentElement("afterend", list);
  list.insertAdjacentElement("afterend", status);
  area.parentElement.classList.add("mention-anchor");
  area.setAttribute("aria-autocomplete", "list");
  area.setAttribute("aria-controls", id);

  let options = [];  // [{username}]
  let active = -1;
  let typed = null;  // {start, end, prefix}: the "@prefix" being completed
  let timer = null;
  let asked = 0;

  const close = () => {
    clearTimeout(timer);
    asked += 1;  // an answer on its way is no longer wanted
    options = [];
    active = -1;
    typed = null;
    list.classList.add("d-none");
    list.replaceChildren();
    area.removeAttribute("aria-activedescendant");
    status.textContent = "";
  };

  const highlight = (index) => {
    active = index;
    list.querySelectorAll("[role=option]").forEach((li, n) => {
      const on = n === index;
      li.setAttribute("aria-selected", String(on));
      li.classList.toggle("active", on);
      if (on) {
        area.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    });
  };

  const choose = (index) => {
    const person = options[index];
    if (!person || !typed) return;
    const text = `@${person.username} `;
    const { start, end } = typed;
    const after = area.value.slice(end).replace(/^\w*/, "").replace(/^ /, "");
    area.value = area.value.slice(0, start) + text + after;
    const caret = start + text.length;
    area.setSelectionRange(caret, caret);
    close();
    area.dispatchEvent(new Event("input", { bubbles: true }));  // the counter
    area.focus();
  };

  const show = (people) => {
    options = people;
    list.replaceChildren();
    people.forEach((person, n) => {
      const li = document.createElement("li");
      li.id = `${id}-${n}`;
      li.className = "list-group-item list-group-item-action d-flex align-items-center gap-2";
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      if (person.avatar) {
        const img = document.createElement("img");
        img.className = "avatar rounded";
        img.src = person.avatar;
        img.width = 24;
        img.height = 24;
        img.alt = "";
        li.append(img);
      }
      const name = document.createElement("span");
      name.textContent = person.username;
      li.append(name);
      // the pointer: choose without taking the focus from the text area
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(n);
      });
      list.append(li);
    });
    // under the text area (its parent is the list's containing block: .mention-anchor)
    list.style.top = `${area.offsetTop + area.offsetHeight + 2}px`;
    list.style.left = `${area.offsetLeft}px`;
    list.classList.remove("d-none");
    highlight(0);
    status.textContent = people.map((p) => p.username).join(", ");
  };

  const lookup = () => {
    const caret = area.selectionStart;
    if (caret !== area.selectionEnd) { close(); return; }
    const match = TYPED.exec(area.value.slice(0, caret));
    if (!match) { close(); return; }
    const prefix = match[1];
    typed = { start: caret - prefix.length - 1, end: caret, prefix };
    clearTimeout(timer);
    const ask = ++asked;
    timer = setTimeout(async () => {
      const people = await suggestions(prefix);
      if (ask !== asked) return;  // typed on meanwhile, or closed
      if (Array.isArray(people) && people.length) show(people);
      else close();
    }, DEBOUNCE_MS);
  };

  area.addEventListener("input", (event) => {
    if (event.isComposing) return;
    lookup();
  });
  area.addEventListener("keydown", (event) => {
    if (event.isComposing || list.classList.contains("d-none") || !options.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey
               && !event.ctrlKey && !event.metaKey && !event.altKey && active >= 0) {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  // moving the caret elsewhere (a click, Home, ←) ends the suggestion
  area.addEventListener("click", lookup);
  area.addEventListener("keyup", (event) => {
    if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) lookup();
  });
  area.addEventListener("blur", close);
  area.form?.addEventListener("submit", close);
}

for (const area of document.querySelectorAll("textarea[data-mentions]")) attach(area);
