"""preview of the workstation."""
