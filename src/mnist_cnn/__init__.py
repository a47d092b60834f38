"""mnist_cnn: the code of the book "CNNs from scratch with PyTorch".

One module per concept, each explained by a chapter of the book:

* :mod:`mnist_cnn.quickstart` -- chapter "Quick start": a small CNN and the
  plain training loop.
* :mod:`mnist_cnn.data` -- chapter "Data": read, verify, split, normalise and batch MNIST.
* :mod:`mnist_cnn.ops` -- chapters "Convolution" and "Pooling": the layers from their formulas.
* :mod:`mnist_cnn.invariance` -- chapter "Pooling": how much features move when the digit moves.
* :mod:`mnist_cnn.models` -- chapter "Model": the article's networks, LeNet-5, the book's network.
* :mod:`mnist_cnn.anatomy` -- chapter "Model": shapes, parameters, MACs, receptive fields.
* :mod:`mnist_cnn.config` -- chapter "Training": the option names and the typed ``TrainConfig``.
* :mod:`mnist_cnn.optim` -- chapter "Training": the optimizers and the
  one-cycle schedule from their equations.
* :mod:`mnist_cnn.batchnorm` -- chapter "Model": batch normalisation from
  its formula.
* :mod:`mnist_cnn.dropout` -- chapter "Model": dropout from its definition.
* :mod:`mnist_cnn.compare` -- chapter "Training": results over several
  seeds, and which differences the spread allows one to claim.
* :mod:`mnist_cnn.scratch` -- chapter "Backpropagation, assembled": a
  network's backward pass by hand, trained with no autograd.
* :mod:`mnist_cnn.training` -- chapters "Training", "Evaluation", "Overfitting": fit, evaluate.
* :mod:`mnist_cnn.parallel` -- chapters "Training", "Overfitting": several
  runs side by side, one process per core.
* :mod:`mnist_cnn.run_state` -- a training run's position, saved and restored
  for resuming.
* :mod:`mnist_cnn.mixed_precision` -- chapter "Applications": mixed precision.
* :mod:`mnist_cnn.checkpoints` -- chapter "Training": checkpoints and resumable training states.
* :mod:`mnist_cnn.atomic` -- files written so that a crash never leaves half of one.
* :mod:`mnist_cnn.augment` -- chapter "Overfitting": random rotation, scale
  and shift; random flips.
* :mod:`mnist_cnn.metrics` -- chapter "Evaluation": confusion matrix, precision/recall/F1, ROC.
* :mod:`mnist_cnn.preprocess` -- chapter "Evaluation": your own image, prepared like MNIST.
* :mod:`mnist_cnn.finetune` -- chapter "Fine-tuning": freezing, new heads, LoRA.
* :mod:`mnist_cnn.transfer` -- chapter "Fine-tuning": the experiment that compares the methods.
* :mod:`mnist_cnn.explain` -- chapter "Applications": saliency maps and Grad-CAM.
* :mod:`mnist_cnn.deploy` -- chapter "Applications": TorchScript and ONNX export.
* :mod:`mnist_cnn.distributed` -- chapter "Applications": data-parallel training under torchrun.
* :mod:`mnist_cnn.exercises` -- every chapter's exercises: checks that say
  what is wrong with an answer.
* :mod:`mnist_cnn.plots` -- the figures every chapter draws.
* :mod:`mnist_cnn.widgets` -- the interactive explorers of "Convolution" and "Pooling".
* :mod:`mnist_cnn.bench` -- benchmarks whose figures the chapters quote.
* :mod:`mnist_cnn.paths` -- where the book's files and shared checkpoints are.
* :mod:`mnist_cnn.course` -- the README's "Teaching with this book": the
  chapters as student notebooks without the solutions, a teacher's guide.
* :mod:`mnist_cnn.grading` -- the README's "Teaching with this book": run
  students' notebooks and the exercises' checks.
* :mod:`mnist_cnn.cli` -- ``python -m mnist_cnn train | evaluate | predict |
  bench | course | grade``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mnist-cnn")
except PackageNotFoundError:
    # imported from a source tree that was never installed
    __version__ = "0+unknown"
