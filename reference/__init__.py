"""The PyTorch side of minicnn's checks. Only tests, benchmarks and ``--check`` import it; minicnn never does."""
