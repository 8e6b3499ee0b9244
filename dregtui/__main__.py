import sys

from dregtui.cli import main

sys.exit(main())
