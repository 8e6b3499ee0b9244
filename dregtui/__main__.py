import sys

from dregtui.cli.main import main

sys.exit(main())
