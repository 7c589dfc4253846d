#!/usr/bin/env python3
"""Checks that no folder of a module names a type declared in a folder above it.

The order of each module's folders, bottom first, is below; a file may use types of its own
folder and of the folders before it. Types are found by their top-level declarations (struct, enum, class,
actor, protocol, typealias); a use is the type's name as a whole word outside comments.
Usage: scripts/check-layers.py   (exit 1 and a line per violation when the layers are broken)
"""
import os
import re
import sys

LAYERS = {
    "Sources/AliceFormat": ["Support", "Codec", "Segment", "Fitting", "Batch"],
    "Sources/AliceDB": ["Support", "MemTable", "Storage", "Query", "Outbox", "Engine", ".", "Import"],
    "Sources/ReadAPI": ["Support", "PromQL", "Routes"],
}
DECL = re.compile(r"^(?:public |package |internal |private |fileprivate |final |indirect )*"
                  r"(?:struct|enum|class|actor|protocol|typealias)\s+([A-Z][A-Za-z0-9_]*)", re.M)


def code(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//.*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    problems = []
    for module, order in LAYERS.items():
        files = {}
        for layer in order:
            d = os.path.join(root, module, layer)
            names = sorted(os.listdir(d)) if os.path.isdir(d) else []
            files[layer] = [os.path.join(d, n) for n in names if n.endswith(".swift")]
        listed = {os.path.normpath(f) for fs in files.values() for f in fs}
        for dirpath, _, names in os.walk(os.path.join(root, module)):
            for n in names:
                p = os.path.normpath(os.path.join(dirpath, n))
                if n.endswith(".swift") and p not in listed:
                    problems.append(f"{os.path.relpath(p, root)}: in no listed layer of {module}")
        declared = {}
        for layer in order:
            for f in files[layer]:
                for name in DECL.findall(code(f)):
                    declared.setdefault(name, layer)
        for i, layer in enumerate(order):
            above = {name: l for name, l in declared.items() if order.index(l) > i}
            for f in files[layer]:
                text = code(f)
                for name, l in sorted(above.items()):
                    if re.search(r"\b" + name + r"\b", text):
                        problems.append(f"{os.path.relpath(f, root)} ({layer}) uses {name} from {l}/")
    for p in problems:
        print(p)
    print(f"layers: {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
