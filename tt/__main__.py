import sys

from tt.cli import main

sys.exit(main())
