"""Exits 0 when every `name==version` line of the given requirements file is installed at
exactly that version, 1 (naming what differs) otherwise. Reads package metadata only: no
import of the packages, no pip, no network."""

import sys
from importlib import metadata


def main(path):
    wrong = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, wanted = line.partition("==")
        try:
            have = metadata.version(name.strip())
        except metadata.PackageNotFoundError:
            have = None
        if have != wanted.strip():
            wrong.append(f"{name.strip()} {have or 'missing'} (want {wanted.strip()})")
    if wrong:
        print("requirements not installed: " + ", ".join(wrong))
        return 1
    print("requirements already installed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
