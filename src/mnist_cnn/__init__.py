"""mnist_cnn: the code of the book "CNNs from scratch with PyTorch".

One module per concept, each explained by a chapter of the book:

* :mod:`mnist_cnn.data` -- chapter "Data": read, verify, split, normalise and batch MNIST.
* :mod:`mnist_cnn.ops` -- chapters "Convolution" and "Pooling": the layers from their formulas.
* :mod:`mnist_cnn.models` -- chapter "Model": the article's networks, LeNet-5, the book's network.
* :mod:`mnist_cnn.anatomy` -- chapter "Model": shapes, parameters, MACs, receptive fields.
* :mod:`mnist_cnn.training` -- chapters "Training", "Evaluation", "Overfitting": fit, evaluate, checkpoints.
* :mod:`mnist_cnn.metrics` -- chapter "Evaluation": confusion matrix, precision/recall/F1, ROC.
* :mod:`mnist_cnn.preprocess` -- chapter "Evaluation": your own image, prepared like MNIST.
* :mod:`mnist_cnn.cli` -- ``python -m mnist_cnn train | evaluate | predict | bench``.
* :mod:`mnist_cnn.finetune` -- chapter "Fine-tuning": freezing, new heads, discriminative rates, LoRA.
* :mod:`mnist_cnn.invariance` -- chapter "Pooling": how much features move when the digit moves.
* :mod:`mnist_cnn.plots` -- the figures every chapter draws.
* :mod:`mnist_cnn.widgets` -- the interactive explorers of "Convolution" and "Pooling".
* :mod:`mnist_cnn.bench` -- benchmarks whose figures the chapters quote.
* :mod:`mnist_cnn.paths` -- where the book's files and shared checkpoints are, from any working directory.
"""

__version__ = "0.1.0"
