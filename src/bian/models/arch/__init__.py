"""Network architectures, written for bian with the official checkpoints' parameter names."""
