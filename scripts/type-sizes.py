#!/usr/bin/env python3
"""Lines per type, summed over `Type.swift` and its `Type+Concern.swift` extensions.

Usage: scripts/type-sizes.py [--limit N] [Sources]
Prints every type whose files sum to more than `--limit` lines (default 400) and
exits 1 if any type is over the hard limit of 500 lines (issue 20's rule).
"""
import collections
import pathlib
import sys

HARD_LIMIT = 500


def main() -> int:
    args = sys.argv[1:]
    limit = 400
    if args[:1] == ["--limit"]:
        limit = int(args[1])
        args = args[2:]
    root = pathlib.Path(args[0] if args else "Sources")
    sizes: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for path in sorted(root.rglob("*.swift")):
        module = path.relative_to(root).parts[0]
        type_name = path.stem.split("+", 1)[0]
        with path.open(encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)
        sizes[f"{module}.{type_name}"].append((path.name, lines))
    over = 0
    for name, files in sorted(sizes.items(), key=lambda item: -sum(n for _, n in item[1])):
        total = sum(n for _, n in files)
        if total <= limit:
            continue
        if total > HARD_LIMIT:
            over += 1
        parts = ", ".join(f"{file} {n}" for file, n in files)
        print(f"{total:5d}  {name}  ({parts})")
    print(f"{over} type(s) over {HARD_LIMIT} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
