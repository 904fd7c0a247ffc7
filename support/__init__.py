"""Everything stateful around the core: the database, conversation state, hand-offs to people."""
