"""What the coordinator and the hospitals share: configuration, model and adapter loading, the wire format, stages, record types."""
