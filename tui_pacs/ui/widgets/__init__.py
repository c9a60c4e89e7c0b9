"""widgets of the workstation."""
