"""colourlib: the library under the Colour This study (see README.md)."""
import os as _os

# TensorFlow's C++ start-up chatter buries the study's own output; users can still set their own level.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
