"""``python -m pagestream.streams.cli``: how ``pagestream up`` starts workers and the bridge."""

import sys

from pagestream.streams.cli.main import main

sys.exit(main())
