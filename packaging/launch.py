"""Entry script of the frozen app: the `deepwire` command (no subcommand opens the editor)."""

import multiprocessing
import sys

from deepwire import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # DataLoader worker processes re-enter the frozen executable
    sys.exit(main())
