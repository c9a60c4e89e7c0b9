"""tui-pacs: a DICOM workstation that lives in the terminal.

Importing the package has no side effects: no terminal probing, no
directories created, no logging handlers beyond a NullHandler.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
