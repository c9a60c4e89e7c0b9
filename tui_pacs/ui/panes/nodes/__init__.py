"""nodes of the workstation."""
