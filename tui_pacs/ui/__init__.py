"""The Textual workstation. The only package allowed to import Textual."""
