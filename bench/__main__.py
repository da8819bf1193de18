"""`python -m bench`: run every benchmark module in bench/ that has a `main()`, print their lines.

Benchmarks print ratios against a floor measured in the same run; nothing here asserts a time.
Other modules join by defining `main()`; `python -m bench NAME...` runs only those.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

import bench

SKIP = {"terminal", "screenshots", "traffic"}  # helpers, not benchmarks


def main(argv: list[str]) -> int:
    options = [a for a in argv if a.startswith("-")]
    if options:  # main() is called with no arguments here: options would be silently dropped
        print(
            f"bench: {options[0]} is an option of one benchmark: run python -m bench.NAME {options[0]} ...",
            file=sys.stderr,
        )
        return 2
    names = argv or sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name not in SKIP and not m.name.startswith("_")
    )
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if run is None:
            continue
        print(f"== {name}", flush=True)
        try:
            run()
        except Exception:  # one broken benchmark must not hide the others' numbers
            failed += 1
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
