"""`python -m editor [PROJECT]`."""

import sys

from editor.app import main

sys.exit(main())
