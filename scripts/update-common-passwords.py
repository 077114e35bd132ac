"""Rebuild microblog/data/common-passwords.txt, the list new passwords are checked against
(microblog/passwords.py).

    .venv/bin/python scripts/update-common-passwords.py [--version 4.1.3] [--count 10000]

The source is the npm package @zxcvbn-ts/language-common (MIT), whose src/passwords.json
holds the passwords of Mark Burnett's published set of 10 million leaked passwords (xato.net,
2015), lowercased and ordered by frequency, most common first. This takes its
first COUNT entries. The package comes through `npm pack` (the npm client and its registry),
and the tarball must match the integrity pinned here for the pinned version, so the same
command always writes the same file; after moving to another version, pin its
`npm view @zxcvbn-ts/language-common@VERSION dist.integrity`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@zxcvbn-ts/language-common"
VERSION = "4.1.3"
INTEGRITY = {
    "4.1.3": "sha512-g2bg4skmlJG9aJqC/nWziZzgYpSe/f3rKeGobrkdFiOrfZVFqqzUgC6BUQWuX54Sua9j0"
             "Jxxt+1bf4f/Mal1Kg==",
}
MEMBER = "package/src/passwords.json"
OUT = Path(__file__).resolve().parent.parent / "microblog" / "data" / "common-passwords.txt"


def fetch(version: str, into: Path) -> Path:
    """The package's tarball, checked against its pinned integrity."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not installed (Debian: apt-get install npm)")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [npm, "pack", f"{PACKAGE}@{version}", "--pack-destination", str(into), "--json"],
        check=True, capture_output=True, text=True)
    tarball = into / json.loads(result.stdout)[0]["filename"]
    expected = INTEGRITY.get(version)
    actual = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if expected is None:
        sys.exit(f"no integrity pinned for {PACKAGE}@{version}: it is {actual}; add it to "
                 "INTEGRITY in this script if that is the package you mean")
    if actual != expected:
        sys.exit(f"{PACKAGE}@{version}: integrity {actual}, expected {expected}")
    return tarball


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            tarfile.open(fetch(args.version, Path(tmp))) as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            sys.exit(f"{MEMBER} is not in {PACKAGE}@{args.version}")
        passwords: list[str] = json.load(member)
    top: list[str] = []
    seen: set[str] = set()
    for password in passwords:
        # one per line, and a line starting with '#' would read as a comment
        if password in seen or not password or password != password.strip() \
                or "\n" in password or password.startswith("#"):
            continue
        seen.add(password)
        top.append(password)
        if len(top) == args.count:
            break
    header = [
        f"# The {len(top):,} most common passwords, most common first, one per line.",
        f"# Source: the npm package {PACKAGE} {args.version} (MIT License,",
        "# Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc., (c) 2021 @zxcvbn-ts),",
        "# src/passwords.json: Mark Burnett's 10 million passwords (xato.net, 2015),",
        "# lowercased and ordered by frequency.",
        "# Regenerate: .venv/bin/python scripts/update-common-passwords.py",
        "# Lines starting with '#' are comments; microblog/passwords.py reads the rest.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header + top) + "\n", encoding="utf-8")
    print(f"wrote {len(top)} passwords to {args.out}")


if __name__ == "__main__":
    main()
