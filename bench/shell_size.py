"""Measure the engineers' app shell: every file in sw.js's precache list, gzipped.

    python bench/shell_size.py            print each file and the total; exit 1 above 100 KB
    python bench/shell_size.py --stamp    also write the shell's content hash into sw.js's VERSION
    python bench/shell_size.py --check    exit 1 if sw.js's VERSION does not match the shell

The VERSION names the cache, so a changed shell must get a new one; tests/js/pwa_sw.test.js
checks the same hash, so a forgotten --stamp fails the tests.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import re
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
SW = STATIC / "sw.js"
LIMIT_BYTES = 100 * 1024
VERSION_RE = re.compile(r'const VERSION = "([^"]*)";')


def precache_list(sw_text: str) -> list[str]:
    """Return the paths of the PRECACHE array in sw.js."""
    block = re.search(r"const PRECACHE = \[(.*?)\];", sw_text, re.S)
    if block is None:
        raise SystemExit("no PRECACHE list in sw.js")
    return re.findall(r'"([^"]+)"', block.group(1))


def file_of(path: str) -> Path:
    """Return the static file a precache path names ("./" is the shell page)."""
    return STATIC / ("index.html" if path == "./" else path)


def shell_hash(paths: list[str]) -> str:
    """Return the first 8 hex digits of the SHA-256 over every precached path and its bytes."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode() + b"\0" + file_of(path).read_bytes() + b"\0")
    return digest.hexdigest()[:8]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamp", action="store_true", help="write the shell hash into sw.js")
    parser.add_argument("--check", action="store_true", help="fail if sw.js's VERSION is stale")
    args = parser.parse_args(argv)

    sw_text = SW.read_text(encoding="utf-8")
    paths = precache_list(sw_text)
    total_raw = total_gz = 0
    for path in paths:
        data = file_of(path).read_bytes()
        gz = len(gzip.compress(data, compresslevel=9, mtime=0))
        total_raw += len(data)
        total_gz += gz
        print(f"{gz:>8} {len(data):>8}  {path}")
    sw_gz = len(gzip.compress(SW.read_bytes(), compresslevel=9, mtime=0))
    total_gz += sw_gz
    print(f"{sw_gz:>8} {len(SW.read_bytes()):>8}  sw.js")
    print(
        f"shell: {len(paths) + 1} files, {total_raw} bytes, {total_gz} bytes gzipped "
        f"({total_gz / 1024:.1f} KB of {LIMIT_BYTES // 1024} KB)"
    )

    current = VERSION_RE.search(sw_text)
    wanted_hash = shell_hash(paths)
    if args.stamp:
        version = f"{datetime.date.today():%Y.%m.%d}-{wanted_hash}"
        SW.write_text(VERSION_RE.sub(f'const VERSION = "{version}";', sw_text, count=1), "utf-8")
        print(f"sw.js VERSION = {version}")
    elif args.check and (current is None or not current.group(1).endswith(wanted_hash)):
        print(f"sw.js VERSION is stale (shell {wanted_hash}): run bench/shell_size.py --stamp")
        return 1
    if total_gz > LIMIT_BYTES:
        print(f"FAIL: the shell is over {LIMIT_BYTES // 1024} KB gzipped")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
