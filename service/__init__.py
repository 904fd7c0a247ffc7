"""Running the bot as a service: the web process, health and metrics, reports on real conversations."""
