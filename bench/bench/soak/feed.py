"""One chunk of the soak's load: ``python -m bench.soak.feed URL RATE SECONDS OUT.json START_EPOCH``.

``bench.load`` as it is, started a few seconds early and held until ``START_EPOCH``, so that its imports
are done when its chunk is due and the chunks follow each other without a gap.
"""

import sys
import time
from pathlib import Path

from bench.load import main as offer

if __name__ == "__main__":
    url, rate, seconds, out, start = sys.argv[1:6]
    time.sleep(max(0.0, float(start) - time.time()))
    offer(url, float(rate), float(seconds), Path(out))
