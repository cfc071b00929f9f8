"""Everything about a recorded run: its processes, the store's schema and rows, the store, its lifecycle,
the queue, the executors and the service that launches, cancels and deletes (docs/DESIGN.md, "The run
store")."""
