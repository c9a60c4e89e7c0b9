"""transfers of the workstation."""
