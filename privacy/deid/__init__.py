"""Clinical de-identification built on Presidio."""
