"""Import TensorFlow and Keras once, without their C++ start-up chatter on the terminal."""

import os
import sys
import tempfile

#: Pieces of the lines that TensorFlow's C++ core writes straight to file descriptor 2 while it
#: starts on a machine without a GPU (no Python setting or environment variable silences them:
#: they come before its logging is set up). Any other line is passed on unchanged.
START_UP_NOISE = (
    "absl::InitializeLog",
    "cudart_stub.cc",
    "cuda_platform.cc",
    "cuda_executor.cc",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "Unable to register cu",
    "computation placer already registered",
    "oneDNN custom operations are on",
)


def start_up_lines(text):
    """The lines of *text* that are not TensorFlow's known start-up chatter.

    Examples
    --------
    >>> start_up_lines("I0000 cudart_stub.cc:31] Could not find cuda drivers\\nreal problem\\n")
    ['real problem']
    """
    return [line for line in text.splitlines() if line.strip() and not any(n in line for n in START_UP_NOISE)]


def import_keras():
    """Import TensorFlow and Keras (once) and start TensorFlow's devices; returns the keras module.

    What TensorFlow writes to the process's standard error while it starts
    is caught and passed on without the lines in :data:`START_UP_NOISE`.
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["keras"]
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to catch: nothing reaches a terminal anyway
        import keras

        return keras
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import keras
            import tensorflow as tf

            tf.config.list_logical_devices()  # the devices start here (and say so on fd 2)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        text = caught.read().decode("utf-8", "replace")
    for line in start_up_lines(text):
        print(line, file=sys.stderr)
    return keras
