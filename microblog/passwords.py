"""What makes a new password acceptable (OWASP ASVS 5.0 V6.2, NIST SP 800-63B): length, and
not being one an attacker tries first. No character-class rules: a long phrase of ordinary
words is a good password. The service's `clean_password` checks the length and calls
`password_problem` for the rest, wherever a password is set.

The common passwords are the 10,000 most frequent ones of a well-known public list, shipped
in microblog/data/common-passwords.txt (scripts/update-common-passwords.py rebuilds it; its
first lines say where it comes from).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from microblog.i18n import gettext as _
from microblog.limits import PASSWORD_MIN

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
# a username or an email's local part shorter than this is not looked for inside a password
# ("al" is in too many good passwords to mean anything)
PERSONAL_MIN = 3


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, casefolded; only the entries long enough to pass the length rule
    (shorter ones are refused anyway). Lines starting with '#' are comments."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        entries = (line.strip().casefold() for line in lines if not line.startswith("#"))
        return frozenset(entry for entry in entries if len(entry) >= PASSWORD_MIN)


def password_problem(password: str, *, username: str | None = None,
                     email: str | None = None) -> str | None:
    """Why `password` (already of an acceptable length) must not be used, in the user's
    language, or None when it may. `username` and `email` are its owner's, when known."""
    if not password.strip():
        return _("Your password cannot be only spaces.")
    folded = password.casefold()
    if len(set(folded)) == 1:
        return _("Your password cannot be one character repeated.")
    if folded.strip() in common_passwords():
        return _("This password is one of the most common passwords; choose another.")
    name = (username or "").strip().casefold()
    if len(name) >= PERSONAL_MIN and name in folded:
        return _("Your password must not contain your username.")
    local = (email or "").strip().rpartition("@")[0].casefold()
    if len(local) >= PERSONAL_MIN and local in folded:
        return _("Your password must not contain your email address.")
    return None
