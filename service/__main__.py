"""`python -m service` is `neogenesis-bot`."""

import sys

from service.cli import main

sys.exit(main())
