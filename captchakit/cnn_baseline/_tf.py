"""Import TensorFlow and Keras once, and keep their C++ core's chatter off the terminal."""

import contextlib
import os
import sys
import tempfile

#: Pieces of the lines that TensorFlow's C++ core writes straight to file descriptor 2: while it starts on a
#: machine without a GPU, once per process when a graph with boolean tensors (the CTC loss) meets a CPU
#: that oneDNN does not take them on, and when a second CTC network for labels of another length trains in
#: the same process (the graph optimizer gives up on the loss's loop, says so in three lines, and TensorFlow
#: runs the graph unoptimized: "Ignoring multi-device function optimization failure"). No Python setting or
#: environment variable silences them short of hiding real errors too. Any other line is passed on unchanged.
NATIVE_NOISE = (
    "absl::InitializeLog",
    "cudart_stub.cc",
    "cuda_platform.cc",
    "cuda_executor.cc",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "Unable to register cu",
    "computation placer already registered",
    "oneDNN custom operations are on",
    "oneDNN supports DT_BOOL only on platforms with AVX-512",
    "MLIR Graph Optimizer failed",
    "'tfg.While' op body function argument",
)


def useful_lines(text):
    """The lines of *text* that are not TensorFlow's known chatter (:data:`NATIVE_NOISE`).

    Examples
    --------
    >>> useful_lines("I0000 cudart_stub.cc:31] Could not find cuda drivers\\nreal problem\\n")
    ['real problem']
    """
    return [line for line in text.splitlines() if line.strip() and not any(n in line for n in NATIVE_NOISE)]


@contextlib.contextmanager
def native_noise_filtered():
    """Catch what is written to file descriptor 2 meanwhile; then pass it on without :data:`NATIVE_NOISE`.

    TensorFlow's C++ core writes to the descriptor itself, past ``sys.stderr``.
    What comes meanwhile reaches standard error when the block ends (also when
    it raises), in its order.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to catch: nothing reaches a terminal anyway
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in useful_lines(caught.read().decode("utf-8", "replace")):
                print(line, file=sys.stderr)


def import_keras():
    """Import TensorFlow and Keras (once) and start TensorFlow's devices; returns the keras module.

    What TensorFlow writes to the process's standard error while it starts
    is caught and passed on without its chatter (:func:`native_noise_filtered`).
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["keras"]
    with native_noise_filtered():
        import keras
        import tensorflow as tf

        tf.config.list_logical_devices()  # the devices start here (and say so on fd 2)
    return keras
