"""DICOM service class user: echo, find, move, get and store, synchronous like pynetdicom.

Each operation opens its own association through :mod:`.association`, which
sets TCP_NODELAY and installs the DIMSE guard (:mod:`.dimse_guard`), and
reports progress through a callback so :mod:`tui_pacs.services` can run it in
a worker thread.
"""
