"""`make bench`: run every benchmark suite and write JSON under bench/results/.

Usage: python -m bench [suite ...]
(suites: search, admin_search, search_browser, analytics, effectiveness, documents; default all)
"""

import importlib
import sys

SUITES = ("search", "admin_search", "search_browser", "analytics", "effectiveness", "documents")


def main(argv: list[str]) -> int:
    chosen = [arg for arg in argv if not arg.startswith("-")] or list(SUITES)
    options = [arg for arg in argv if arg.startswith("-")]
    for name in chosen:
        if name not in SUITES:
            print(f"unknown benchmark suite {name!r}; choose from {', '.join(SUITES)}")
            return 2
        module = importlib.import_module(f"bench.{name}")
        module.main(options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
