"""``python -m mnist_cnn``: see :mod:`mnist_cnn.cli`."""

import sys

try:
    from mnist_cnn.cli import main
except KeyboardInterrupt:  # Ctrl-C while torch is still being imported
    print("interrupted: nothing was saved", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
