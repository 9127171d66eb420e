"""bian (彼岸): bring old photographs and film back to life."""
from .errors import BianError

__version__ = "0.1.0"
__all__ = ["BianError", "__version__"]
