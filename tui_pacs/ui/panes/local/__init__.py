"""local of the workstation."""
