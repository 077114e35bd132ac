// A hint under a new password's field as it is typed: too short, too easy to guess, OK or
// strong. Only a hint: the server decides (microblog/passwords.py), and it also refuses the
// most common passwords, a list this page does not download. The words come translated in
// the meter's data-* attributes; the meter is an aria-live region inside the field's help.

const MIN = 8; // microblog/limits.py PASSWORD_MIN
const STRONG = 16; // a few unrelated words
const PERSONAL_MIN = 3; // microblog/passwords.py PERSONAL_MIN

const meter = document.getElementById("password-meter");
const input = document.getElementById("password");

// what the person typed as their username and email, on the registration form
const personal = () => {
  const name = document.getElementById("username")?.value.trim().toLowerCase() || "";
  const email = document.getElementById("email")?.value.trim().toLowerCase() || "";
  const local = email.includes("@") ? email.slice(0, email.lastIndexOf("@")) : "";
  return [name, local].filter((part) => part.length >= PERSONAL_MIN);
};

function rate(password) {
  const chars = [...password]; // code points, as the server counts them
  if (chars.length < MIN) return "short";
  const folded = password.toLowerCase();
  if (!password.trim() || new Set(folded).size === 1
      || personal().some((part) => folded.includes(part))) return "weak";
  return chars.length >= STRONG ? "strong" : "ok";
}

const COLOURS = { short: "text-danger", weak: "text-danger", ok: "text-body-secondary",
                  strong: "text-success" };

function update() {
  const rating = input.value ? rate(input.value) : null;
  const text = rating ? meter.dataset[rating] : "";
  if (meter.textContent !== text) meter.textContent = text; // announce changes only
  meter.classList.remove(...Object.values(COLOURS));
  if (rating) meter.classList.add(COLOURS[rating]);
}

if (meter && input) {
  input.addEventListener("input", update);
  for (const id of ["username", "email"]) {
    document.getElementById(id)?.addEventListener("input", update);
  }
  update();
}
