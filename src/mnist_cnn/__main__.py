"""``python -m mnist_cnn``: see :mod:`mnist_cnn.cli`."""

from mnist_cnn.cli import main

raise SystemExit(main())
