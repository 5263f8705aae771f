import sys

from motionmap.cli import main

sys.exit(main())
