"""`python -m tui_pacs` runs the same command line as the `tui-pacs` script."""

from tui_pacs.cli import main

if __name__ == "__main__":
    main()
