"""pynetdicom, synchronous and shaped like it: AE construction, SCP handlers bound to the store, SCU operations."""
