import sys

from stepdiff.runtime.cli import main

sys.exit(main())
