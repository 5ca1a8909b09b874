"""`python -m dclab ...` -> dclab.cli.main."""
import sys

from dclab.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
