"""Hospital side: the Flower ClientApp, local data loading and processing, local training per stage."""

import common  # noqa: F401  (the console and offline flags before anything this package imports)
