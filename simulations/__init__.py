"""Local multi-hospital runs, synthetic hospital data, benchmarks."""

import common  # noqa: F401  (the console and offline flags before anything this package imports)
