"""The frozen app's entry point (PyInstaller runs this file): the same ``main`` as ``gemma-desk``."""

import sys

from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
