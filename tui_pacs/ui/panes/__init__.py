"""panes of the workstation."""
