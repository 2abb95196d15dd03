import sys

from sre.cli import main

sys.exit(main())
