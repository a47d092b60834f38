"""mnist_cnn: the code of the book "CNNs from scratch with PyTorch".

One module per concept, each explained by a chapter of the book:

* :mod:`mnist_cnn.data` -- chapter "Data": read, verify, split, normalise and batch MNIST.
* :mod:`mnist_cnn.bench` -- throughput benchmarks quoted in the chapters.
"""

__version__ = "0.1.0"
