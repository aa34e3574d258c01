"""The book's APIs on torch tensors, same names and behaviour as scratchnet.book."""
