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
