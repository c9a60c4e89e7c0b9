"""Pixel decode, the display pipeline (LUTs), terminal capability probe and graphics encoders. No Textual."""
