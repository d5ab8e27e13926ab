"""colourlib: the library under the Colour This study (see README.md)."""

import os as _os

# TensorFlow's C++ start-up chatter buries the study's own output; users can still set their own level.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


class ColourlibError(Exception):
    """Something the person running colourlib can fix: a parameter, a file, a folder, a photo. Its message names
    the thing, what was wrong and the fix, so the command line prints it as one line (exit 2). Anything else that
    goes wrong is a bug and keeps its traceback."""


class ConfigError(ColourlibError, ValueError):
    """A parameter that cannot be used; the message names it, its value and the allowed values."""
