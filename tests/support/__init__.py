"""Helpers shared by the test suites: tool discovery and real DICOM peers on loopback."""
