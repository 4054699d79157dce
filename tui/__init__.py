"""durable-tui's live dashboard: a Textual app that watches and drives workflows through `engine.Control`."""
