"""De-identification, differential privacy and its accounting, secure aggregation wiring, privacy audits."""
