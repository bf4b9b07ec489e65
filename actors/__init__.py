"""Ray actors: thin shells around sigmax objects (see ARCHITECTURE.md)."""
