import sys

from tools.spec_check.cli import main

sys.exit(main())
