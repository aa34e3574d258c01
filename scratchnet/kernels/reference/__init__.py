"""The reference tier: each kernel that has a fast twin, written as the loops of its formula.

``gemm`` (the three products backprop needs) and ``conv`` (stride-1 convolution and its two
gradients). They take the same arguments as their fast twins in ``kernels.matmul`` and
``kernels.conv`` and are what ``SCRATCHNET_KERNELS=reference`` runs (see ``kernels.tiers``).
The kernels with one tier only (pooling, BatchNorm, activations, losses, optimizer steps,
im2col) are already plain loops: ``kernels.pool`` and its neighbours are their own reference.
The book's whole-epoch kernel has its reference in ``scratchnet.book.matrix_form``, built on
``scratchnet.nn`` (it is the chapter 2 exercise, so it lives with the book).
"""
