"""The archive: file layout, durable writes, the SQLite index and its query engine, import and export.

No network, no Textual.
"""
