"""Local multi-hospital runs, synthetic hospital data, benchmarks."""
