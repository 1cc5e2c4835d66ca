"""Event types, subjects, stream configuration, codec and the JetStream store."""
