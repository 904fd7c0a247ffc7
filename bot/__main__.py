"""`python -m bot` is `neogenesis-bot`."""

import sys

from bot.cli import main

sys.exit(main())
