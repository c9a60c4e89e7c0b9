"""log of the workstation."""
