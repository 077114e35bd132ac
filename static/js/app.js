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

// Avatars render as local identicons (pages work offline); when Gravatar answers, use it.
for (const img of document.querySelectorAll("img.avatar[data-gravatar]")) {
  const probe = new Image();
  probe.onload = () => { img.src = probe.src; };
  probe.src = img.dataset.gravatar;
}
