"""Platform adapters: each converts a platform event to a core Message, calls the core, renders the Reply."""
