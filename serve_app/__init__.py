"""Ray Serve API (see ARCHITECTURE.md)."""
