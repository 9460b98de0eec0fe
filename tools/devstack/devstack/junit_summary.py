"""Print one closing line for several pytest runs: ``total: N passed, N failed, N skipped``."""

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path


def main(folder: str) -> int:
    tests = failed = skipped = 0
    for report in sorted(Path(folder).glob("*.xml")):
        for suite in ElementTree.parse(report).getroot().iter("testsuite"):
            tests += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
    print(f"total: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
