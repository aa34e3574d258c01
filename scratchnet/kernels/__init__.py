"""Numba-jitted kernels: pure functions on preallocated arrays, no classes."""
