"""Signal wiring for cms. Handlers only hand work to services or tasks."""
