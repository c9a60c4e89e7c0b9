"""The SCP side: one module per DIMSE service, bound to the archive by :mod:`.server`.

Handlers run on pynetdicom's association threads (PS3.8 7.1: one thread per
association); they touch only ``store/`` (thread-safe) and report through a
plain :data:`~tui_pacs.domain.events.EventCallback`.
"""
