#!/usr/bin/env python3
"""Lines per type, summed over `Type.swift`, its `Type+Concern.swift` extensions and any
`extension Type` block in a file named otherwise.

Usage: scripts/type-sizes.py [--limit N] [Sources]
Prints every type whose files sum to more than `--limit` lines (default 400) and
exits 1 if any type is over the hard limit of 500 lines (issue 20's rule).

A file counts wholly to the type it is named after, except its top-level `extension Other`
blocks (with the comments and attributes right above them), which count to `Other` instead:
an extension moved into a file of another name still weighs on the type it extends. Types are
keyed by module, and a nested name (`extension Agent.Status`) counts to its outermost type.
Blocks are found by matching braces outside strings and comments, roughly: the sources are
swift-format formatted, so a top-level `extension` starts at column 0.
"""
import collections
import pathlib
import re
import sys

HARD_LIMIT = 500

EXTENSION = re.compile(
    r"^(?:(?:public|package|internal|private|fileprivate|@[A-Za-z_]\w*(?:\([^)]*\))?)\s+)*"
    r"extension\s+([A-Za-z_]\w*)"
)
PREAMBLE = re.compile(r"^\s*(?://|@)")


def code_only(line: str, in_block_comment: bool) -> tuple[str, bool]:
    """The line without string literals and comments (roughly), and whether a `/* */` is still open."""
    out = []
    i = 0
    in_string = False
    while i < len(line):
        two = line[i : i + 2]
        if in_block_comment:
            if two == "*/":
                in_block_comment = False
                i += 2
            else:
                i += 1
            continue
        if in_string:
            if line[i] == "\\":
                i += 2
            elif line[i] == '"':
                in_string = False
                i += 1
            else:
                i += 1
            continue
        if two == "//":
            break
        if two == "/*":
            in_block_comment = True
            i += 2
            continue
        if line[i] == '"':
            in_string = True
            i += 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out), in_block_comment


def extension_blocks(lines: list[str]) -> list[tuple[str, int, int]]:
    """Top-level `extension Name` blocks as (Name, first line, last line), 0-based, inclusive."""
    code = []
    in_block_comment = False
    for line in lines:
        stripped, in_block_comment = code_only(line, in_block_comment)
        code.append(stripped)
    blocks = []
    i = 0
    while i < len(lines):
        match = EXTENSION.match(code[i])
        if not match:
            i += 1
            continue
        depth = 0
        opened = False
        end = i
        for j in range(i, len(lines)):
            for ch in code[j]:
                if ch == "{":
                    depth += 1
                    opened = True
                elif ch == "}":
                    depth -= 1
            end = j
            if opened and depth <= 0:
                break
        start = i
        while start > 0 and PREAMBLE.match(lines[start - 1]) and not EXTENSION.match(code[start - 1]):
            start -= 1
        blocks.append((match.group(1), start, end))
        i = end + 1
    return blocks


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
            lines = handle.read().splitlines()
        own = len(lines)
        moved: dict[str, int] = collections.defaultdict(int)
        for extended, start, end in extension_blocks(lines):
            if extended != type_name:
                moved[extended] += end - start + 1
        for extended, n in moved.items():
            own -= n
            sizes[f"{module}.{extended}"].append((path.name, n))
        if own > 0 or not moved:
            sizes[f"{module}.{type_name}"].append((path.name, own))
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
