"""Pure data and rules of the DICOM domain: no I/O, no threads, no Textual."""
