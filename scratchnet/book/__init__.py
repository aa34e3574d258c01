"""The book's own APIs (network, network2, network3, mnist_loader, expand_mnist), on scratchnet kernels."""
