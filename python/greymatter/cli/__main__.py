"""python -m greymatter.cli: the same as the `greymatter` command."""
import sys

from .main import main

sys.exit(main())
