"""Community health: messages in, history in, metrics, early warnings and member value."""
