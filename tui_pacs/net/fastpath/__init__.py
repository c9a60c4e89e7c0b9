"""What makes pynetdicom associations fast, for both halves of the network layer.

* :mod:`.dul_wakeup`: the DUL thread woken by work instead of a 1 ms poll;
* :mod:`.p_data`: received P-DATA-TF PDUs handed to DIMSE without PDU objects;
* :mod:`.store_reader`: received C-STORE requests read without pydicom, their
  data sets streamed to the chunked-receive file;
* :mod:`.dimse`: DIMSE command sets written as bytes and sent as P-DATA;
* :mod:`.responses`: the responses our SCU waits for read without pydicom;
* :mod:`.reactor`: an accepted association's reactor woken by its queues,
  with fast paths for the requests an SCP serves most (C-STORE, C-FIND);
* :mod:`.sub_operations`: the C-STOREs of a C-GET we requested, answered on
  the DUL thread that read them, as an accepted association's are;
* :mod:`.uid_cache`: the UIDs of association negotiation converted once.

Everything here touches private pynetdicom 3.0.x attributes and checks
they exist before using them; nothing runs at import time.
"""
