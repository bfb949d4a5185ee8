"""End-to-end CNN recognizer with the same interface as the classic one."""

import contextlib
import math
import time
from collections import Counter

import numpy as np
from sklearn.utils.validation import check_is_fitted

from captchakit._base import Recognizer, detail
from captchakit._errors import CaptchakitError, LabelError, ModelFileError
from captchakit.cnn_baseline._data import check_ink, fresh_dataset, make_dataset, to_input
from captchakit.cnn_baseline._model import build_model
from captchakit.cnn_baseline._settings import AUTO_SETTINGS, derive_settings, measure_ink, restart_recipe
from captchakit.cnn_baseline._tf import import_keras, native_noise_filtered
from captchakit.data._alphabet import resolve_alphabet
from captchakit.data._labels import fold_alphabet

STUCK_CAUSES = (
    "one softmax over all positions followed by a reshape (use one softmax per position)",
    "a learning rate too high or too low",
    "too little training data for the model",
    "labels that do not match their images (check file names / labels file)",
)


def parse_image_size(text):
    """``"48x128"`` → ``(48, 128)`` (height x width)."""
    try:
        h, w = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise CaptchakitError(f"--image-size must look like HEIGHTxWIDTH, e.g. 48x128; got {text!r}") from None
    if h < 16 or w < 16:
        raise CaptchakitError(f"--image-size must be at least 16x16, got {text!r}")
    return h, w


def chance_loss(length, n_classes):
    """Cross-entropy of guessing: about L * ln(C) (2.30 per digit position)."""
    return length * math.log(max(n_classes, 2))


def _stuck_callback(chance, epochs, warnings_out, tolerance=0.9, n_classes=10, hold=None):
    import keras

    class StuckGuard(keras.callbacks.Callback):
        """Warn when training ends with the loss near chance for the last *epochs* epochs or more.

        Small sets sit near chance for a while before they learn (the CTC blank plateau): a run that
        leaves it later says nothing; a run that *hold* gave up on is restarted, which says so itself.
        """

        def __init__(self):
            super().__init__()
            self.near = 0
            self.loss = None

        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            self.loss = float(loss)
            self.near = self.near + 1 if loss >= tolerance * chance else 0

        def on_train_end(self, logs=None):
            if self.loss is None or self.near < epochs or (hold is not None and hold.gave_up):
                return
            msg = (f"training looks stuck: loss {self.loss:.3f} has stayed near chance ({chance:.3f}; chance is "
                   f"about L*ln(C) per label; here C = {n_classes}, ln(C) = {math.log(max(n_classes, 2)):.2f}) "
                   f"for the last {self.near} epochs. "
                   "Likely causes: " + "; ".join(STUCK_CAUSES))
            warnings_out.append(msg)
            print(f"WARNING: {msg}")

    return StuckGuard()


def keras_verbosity(verbose, stream=None):
    """Keras' ``verbose`` for *verbose*: a live bar (1) only on a terminal, one line per epoch (2) elsewhere.

    Examples
    --------
    >>> import io
    >>> keras_verbosity(1, io.StringIO()), keras_verbosity(0), keras_verbosity(2)
    (2, 0, 2)
    """
    import sys

    if verbose != 1:
        return verbose
    stream = stream if stream is not None else sys.stdout
    return 1 if getattr(stream, "isatty", lambda: False)() else 2


def still_leaving(losses, chance, window, rate=0.005):
    """Whether a loss near chance is still falling: by at least *rate* x *chance* per epoch over *window* epochs.

    Examples
    --------
    >>> still_leaving([19.2, 19.1, 18.8, 18.5, 18.0], 19.15, 3)
    True
    >>> still_leaving([19.2, 19.2, 19.1, 19.2, 19.15], 19.15, 3)
    False
    """
    if len(losses) <= window:
        return False
    return (losses[-1 - window] - losses[-1]) / window >= rate * chance


def still_improving(val_losses, recent):
    """Whether the lowest of *val_losses* is among the last *recent* of them (a run still learning).

    Examples
    --------
    >>> still_improving([1.0, 0.8, 0.7, 0.72, 0.69], 2), still_improving([1.0, 0.6, 0.7, 0.72, 0.69], 2)
    (True, False)
    """
    v = [x for x in val_losses if x is not None]
    return bool(v) and int(np.argmin(v)) >= len(v) - max(1, int(recent))


def _plateau_hold(chance, watched, tolerance=0.9, budget=None, give_up=None, leaving=0.005, extend=None,
                  recent=None):
    import keras

    class PlateauHold(keras.callbacks.Callback):
        """While the training loss is still near chance (the CTC blank plateau, or guessing), hold early
        stopping and the learning-rate reduction: their patience counts only once learning has begun.
        After *give_up* epochs in a row near chance, stop (the caller restarts with another recipe), unless
        the loss is still leaving the plateau: falling by at least *leaving* of chance per epoch over the
        last quarter of those epochs (at least 3), a run that has begun to learn, slowly.

        At the end of its *budget* of counted epochs a run stops, unless it may be *extend*-ed and its
        validation loss reached its lowest within the last *recent* epochs (:func:`still_improving`): then it
        goes on for up to *extend* more counted epochs, and early stopping ends it once it stalls."""

        def __init__(self):
            super().__init__()
            self.watched = list(watched)
            self.epochs = 0
            self.in_a_row = []
            self.gave_up = False
            self.extended = 0
            self.val_losses = []
            self.beyond_budget = 0
            self.learning_at_budget = False
            self.counted = 0

        def on_epoch_end(self, epoch, logs=None):
            self.val_losses.append((logs or {}).get("val_loss"))
            loss = (logs or {}).get("loss")
            if loss is not None and loss >= tolerance * chance:
                self.epochs += 1
                self.in_a_row.append(float(loss))
                for cb in self.watched:
                    cb.wait = -1  # they run next and count this epoch: their wait stays at 0
                if give_up is not None and len(self.in_a_row) >= give_up:
                    if not still_leaving(self.in_a_row, chance, max(3, give_up // 4), leaving):
                        self.gave_up = True
                        self.model.stop_training = True
                        return
                    self.extended += 1
            else:
                self.in_a_row = []
            # epochs on the plateau do not count against the budget (the fit allows up to twice as many)
            counted = self.counted = epoch + 1 - self.epochs
            if budget is not None and counted >= budget:
                self.beyond_budget = counted - budget  # epochs run past the budget so far
                if counted == budget and extend and recent and still_improving(self.val_losses, recent):
                    self.learning_at_budget = True  # decided once, at the budget's end; early stopping ends it from here
                if self.learning_at_budget and counted < budget + extend:
                    return
                self.model.stop_training = True

    return PlateauHold()


def _settings_line(st):
    """One line saying the CNN's settings *st* (:attr:`CNNRecognizer.settings_`) and which were pinned."""
    pinned = ", ".join(st.get("pinned") or []) or "none"
    ink = {"local": " (colour distance from each column's paper)", "luminance": " (grey)"}.get(st.get("ink"), "")
    cols = (f" ({int(st['width']) >> int(st['width_pools'])} columns)"
            if st.get("head") == "ctc" and st.get("width_pools") is not None else "")
    return (f"settings (measured from the data unless pinned; pinned: {pinned}): input {st.get('height')}x"
            f"{st.get('width')}{ink}, head {st.get('head')}{cols}, batch {st.get('batch_size')}, "
            f"at most {st.get('epochs')} epochs, patience {st.get('patience')}, warm-up {st.get('warmup_steps')} steps")


def epochs_fit(elapsed, longest, deadline):
    """Whether one more epoch fits before *deadline*: *elapsed* seconds so far plus the *longest* epoch yet.

    Examples
    --------
    >>> epochs_fit(100.0, 40.0, 150.0), epochs_fit(100.0, 60.0, 150.0)
    (True, False)
    """
    return elapsed + longest <= deadline


def next_epoch_seconds(durations):
    """How long the next epoch may take: the longest epoch after the first, or the first while it is the only one.

    The first epoch also traces the training and validation functions (on the 2-core CPU machine, 17 s
    against 5-8 s for the next ones on 500 images), so it says little of the epochs after it.

    Examples
    --------
    >>> next_epoch_seconds([17.0]), next_epoch_seconds([17.0, 8.0, 5.0])
    (17.0, 8.0)
    """
    return max(durations[1:]) if len(durations) > 1 else durations[0]


def _deadline_callback(start, limit, state, anneal=True, left=None):
    """Stop training when the next epoch would end past *limit* seconds after *start* (``time.perf_counter``),
    or at once when a batch ends past it; with *anneal*, halve the learning rate after each epoch once
    fewer than three more fit, by the clock or by the epoch budget (*left*: a callable that says how many
    counted epochs the budget has left, or None).  The next epoch is taken as long as
    :func:`next_epoch_seconds` says, and the clock's halving waits for a second epoch, since the first
    one's tracing makes it look longer than the rest.  So a run ends on the same halved epochs whether
    the clock or its budget ends it, and on a machine fast enough for its budget it trains the same way
    however fast that is.  A learning-rate schedule (cosine) has no variable to halve and is left to decay
    by itself.  *state* records ``epochs``, ``stopped`` and ``annealed`` (halvings)."""
    import keras

    class Deadline(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.durations = []
            self.left = None  # the budget's counted epochs left before this epoch

        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()
            if left is not None and self.left is None:
                self.left = left()

        def _budget_ends(self):
            """Whether this epoch counted and left one or two in the budget (an epoch on the plateau, which
            does not count, leaves the budget as it was and halves nothing)."""
            if left is None:
                return False
            n, before = left(), self.left
            self.left = n
            return n < before and 0 < n < 3

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - start > limit:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.durations.append(now - self.began)
            longest = next_epoch_seconds(self.durations)
            state["epochs"] = state.get("epochs", 0) + 1
            budget_ends = self._budget_ends()
            clock_ends = len(self.durations) > 1 and not epochs_fit(now - start, 3 * longest, limit)
            if self.model.stop_training:
                state["stopped"] = state.get("stopped") or now - start > limit
            elif not epochs_fit(now - start, longest, limit):
                self.model.stop_training = True
                state["stopped"] = True
            elif anneal and (budget_ends or clock_ends) and hasattr(self.model.optimizer.learning_rate, "assign"):
                # one or two more epochs fit: each runs at half the learning rate of the one before, as
                # the plateau reduction would have done had there been time to wait for it (4 digits,
                # 240 s: 99.40% with it, 98.90% without, one run each); a schedule (cosine) has no variable
                # to halve, and decays by itself
                lr = self.model.optimizer.learning_rate
                lr.assign(float(np.asarray(lr)) * 0.5)
                state["annealed"] = state.get("annealed", 0) + 1

    return Deadline()


def _warmup_callback(target, steps):
    import keras

    class WarmUp(keras.callbacks.Callback):
        """Raise the learning rate linearly to *target* over the first *steps* optimizer steps."""

        def __init__(self):
            super().__init__()
            self.step = 0

        def on_train_batch_begin(self, batch, logs=None):
            if self.step < steps:
                self.model.optimizer.learning_rate.assign(target * (self.step + 1) / steps)
            self.step += 1

    return WarmUp()


def _strategy(distribute):
    """The tf.distribute strategy for *distribute* (None: Keras's default, one device)."""
    if distribute in (None, "none"):
        return None
    if distribute != "mirrored":
        raise CaptchakitError(f"distribute must be None or 'mirrored', got {distribute!r}")
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)


class CNNRecognizer(Recognizer):
    """Read whole captchas with a convolutional-recurrent network.

    Parameters
    ----------
    height, width : int or "auto"
        Input size the images are resized to.  Auto (default): measured from
        the training images and labels (:func:`derive_settings`: 48 px high
        for images at least 40 px high, else 32; the median aspect ratio kept;
        at least 16 px per character).
    head : {"auto", "positions", "ctc"}
        ``auto``: CTC when label lengths vary or there are fewer than 3,000
        training images (it learns small sets far better), else one softmax
        per position; also one softmax per position for labels of one length
        with an alphabet of 64 characters or more (CTC sat on its blank
        plateau with 119 Chinese characters, the positions head's shared
        character classifier learned them).
    filters : tuple of int
    rnn_units : int
    dropout : float
    epochs : int or "auto"
        Most epochs; early stopping on the validation part ends sooner.
        Epochs whose training loss is still near chance (the CTC blank
        plateau) do not count, up to as many again.
        Auto: a budget of about 4,000 optimizer steps (15-150 epochs); a run
        whose validation loss is still falling at the end of it (its lowest
        within the last half-patience epochs) goes on, for at most as many
        epochs again, until early stopping ends it.
    batch_size : int or "auto"
        Auto: 16 below 2,000 images, 32 below 6,000, else 64.
    learning_rate : float
    patience : int or "auto"
        Early-stopping patience (epochs); auto: an eighth of the epochs, 4-15.
    augment : bool
        Seeded rotation/shift/scale augmentation of training batches.
    noise : float
        With *augment*: standard deviation of the Gaussian noise added to a
        random half of the training images (0: none).
    schedule : {"plateau", "cosine"}
        ``plateau``: :class:`keras.callbacks.ReduceLROnPlateau` halves the
        learning rate when the validation loss stalls; ``cosine``: a short
        warm-up, then cosine decay to 1% over *epochs*.
    stuck_epochs : int
        Warn when training ends with the loss near chance for this many epochs or more.
    validation_split : float
        Share of the training images carved off (seeded) for early stopping.
    seed : int
    alphabet : str, optional
        Characters or an alphabet name; default: those of the training labels.
    verbose : int
        Keras progress output: 1, a progress bar per epoch on a terminal and
        one line per epoch when the output is a file or a pipe; 2, one line
        per epoch; 0, none.
    fold : str, optional
        Read labels folded: ``"case"`` and/or look-alike groups such as ``"0O,1lI"``.
    task : {"text", "arithmetic"}
        ``arithmetic``: readings are expressions; predictions carry their answer.
    warmup_steps : int or "auto"
        With the plateau schedule: raise the learning rate linearly over this
        many first steps (0: none); auto: two epochs, at most 300 steps.
    distribute : {None, "mirrored"}
        ``mirrored``: train with :class:`tf.distribute.MirroredStrategy`, one
        replica per GPU, or per logical CPU device on a machine without GPUs
        (each batch is split between the replicas).  The saved model is the
        same kind of file either way.
    restart : bool
        When the training loss has stayed near chance for half the epochs
        in a row (at least *stuck_epochs*), stop and train once more from
        scratch with the small-data recipe (:func:`restart_recipe`: CTC,
        batch 16, more patience, half the learning rate, another seed;
        pinned settings kept).  Said in the output, in ``warnings_`` and in
        the bundle (``training.restart``).
    pretrain : {"none", "synthetic", "auto"}
        ``synthetic``: first train on 4,000 seeded python-captcha images drawn
        with the training labels' alphabet, length range and median image
        size (:func:`synthetic_lookalikes`; about 1,500 optimizer steps), then
        go on training on the user's images from those weights.  ``auto``:
        synthetic below 2,000 training images.  Stored in the bundle
        (``training.pretrain``).
    fresh : dict, optional
        For a generated training set: how it was drawn (``alphabet``,
        ``length``, ``width``, ``height``, ``seed``, ``start``, ``per_epoch``;
        see :func:`check_fresh_spec`).  The given training images make the
        first pass; every later epoch trains on *per_epoch* newly drawn
        seeded python-captcha images of that kind (drawn in the background
        while the previous epoch trains), so the network never sees an image
        twice.  Validation (early stopping) stays on the part carved from the
        given images.  Stored in the bundle (``training.fresh``).
    time_limit : float, optional
        Seconds of training at most (pretraining and a restart included):
        training stops after the epoch past which the next one, as long as
        the longest so far after the first (whose tracing makes it longer),
        would end beyond the limit (or at once, should a
        batch end beyond it), and keeps the best weights seen (the last ones
        before early stopping's fifth epoch).  Once fewer than three more
        epochs fit, by the clock or by a budget that cannot be extended
        (pinned epochs, or fresh images), the learning rate is halved after
        each epoch, so that the last epochs settle the weights.  Said in the output, in
        ``warnings_`` and in the bundle (``training.time_limit``).  None:
        no limit.
    ink : {"auto", "luminance", "local"}
        What the network reads: ``luminance``, the grey image with dark ink;
        ``local``, each pixel's colour distance from its own column's paper
        (for paper whose colour changes across the image, such as one tile of
        another colour per character).  Auto (default): measured on the
        training images (:func:`measure_ink`: ``local`` only where it
        separates ink from paper clearly better than grey).
    width_pools : int
        How many conv blocks halve the width (0 to ``len(filters)``): the
        network reads ``width / 2**width_pools`` columns.  Measured with the
        CTC head (docs/measurements.md): 3 instead of 2 left the blank plateau
        in half the epochs on captcha_images_v2 and trained it 25% faster,
        reading one test image fewer, but read claptcha, django-simple-captcha
        and multicolorcaptcha worse, so 2 stays the default.

    Attributes
    ----------
    settings_ : dict
        The settings used (``auto`` ones measured), what was derived, and
        which were pinned; stored in the bundle (``training.settings``).
    """

    METHODS = ("cnn",)
    _payload_name = "model.keras"
    _extra_versions = ("tensorflow", "keras")

    def __init__(self, height="auto", width="auto", head="auto", filters=(16, 32, 64, 96), rnn_units=64,
                 dropout=0.25, epochs="auto", batch_size="auto", learning_rate=2e-3, patience="auto", augment=True,
                 noise=0.04, schedule="plateau", stuck_epochs=3, validation_split=0.1, seed=0, alphabet=None,
                 verbose=1, fold=None, task="text", warmup_steps="auto", distribute=None, restart=True,
                 pretrain="none", fresh=None, time_limit=None, ink="auto", width_pools=2):
        self.height = height
        self.width = width
        self.head = head
        self.filters = filters
        self.rnn_units = rnn_units
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.augment = augment
        self.noise = noise
        self.schedule = schedule
        self.stuck_epochs = stuck_epochs
        self.fold = fold
        self.task = task
        self.warmup_steps = warmup_steps
        self.validation_split = validation_split
        self.seed = seed
        self.alphabet = alphabet
        self.verbose = verbose
        self.distribute = distribute
        self.restart = restart
        self.pretrain = pretrain
        self.fresh = fresh
        self.time_limit = time_limit
        self.ink = ink
        self.width_pools = width_pools

    # ------------------------------------------------------------------ encoding
    def _encode(self, labels):
        idx = {c: i for i, c in enumerate(self.alphabet_)}
        if self.head_ == "positions":
            return np.array([[idx[c] for c in lab] for lab in labels], np.int32)
        out = np.zeros((len(labels), self.length_[1]), np.int32)
        for r, lab in enumerate(labels):
            out[r, :len(lab)] = [idx[c] + 1 for c in lab]  # 0 is the CTC blank
        return out

    def _loss(self):
        import keras

        if self.head_ == "positions":
            return keras.losses.SparseCategoricalCrossentropy()

        def ctc(y_true, y_pred):
            y_true = keras.ops.cast(y_true, "int32")
            lab_len = keras.ops.sum(keras.ops.cast(keras.ops.not_equal(y_true, 0), "int32"), axis=1)
            batch = keras.ops.shape(y_pred)[0]
            out_len = keras.ops.full((batch,), keras.ops.shape(y_pred)[1], dtype="int32")
            return keras.ops.ctc_loss(y_true, y_pred, lab_len, out_len, mask_index=0)

        return ctc

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, progress=None):
        """Train; the validation part (*validation_split*) is carved from the training data (seeded).

        *progress* is accepted for the shared contract; Keras prints its own
        per-epoch progress (see *verbose*).
        """
        keras = import_keras()

        if self.schedule not in ("plateau", "cosine"):
            raise CaptchakitError(f"schedule must be 'plateau' or 'cosine', got {self.schedule!r}")
        pools = self.width_pools
        if isinstance(pools, bool) or not isinstance(pools, (int, np.integer)) or not 0 <= pools <= len(self.filters):
            raise CaptchakitError(f"width_pools must be a whole number from 0 to {len(self.filters)} (the conv "
                                  f"blocks), got {pools!r}")
        pools = int(pools)
        self._check_labels_settings()
        X, y = list(X), self.fold_labels(y)
        if len(X) != len(y) or not X:
            raise CaptchakitError(f"need as many labels as images, got {len(X)} images, {len(y)} labels")
        keras.utils.set_random_seed(self.seed)
        fresh = self._fresh_spec()
        alphabet = (fold_alphabet(resolve_alphabet(self.alphabet), self.fold) if self.alphabet
                    else "".join(sorted(set("".join(y)) | set(fresh["chars"] if fresh else ""))))
        bad = [lab for lab in y if set(lab) - set(alphabet)]
        if bad:
            raise LabelError(f"label {bad[0]!r} has characters outside the alphabet {alphabet!r}")
        if fresh and set(fresh["chars"]) - set(alphabet):
            raise LabelError(f"fresh data draws characters outside the alphabet {alphabet!r}: "
                             f"{''.join(sorted(set(fresh['chars']) - set(alphabet)))!r}")
        self.alphabet_ = alphabet
        lengths = Counter(len(v) for v in y)
        self.length_ = (min(lengths), max(lengths))
        if fresh:
            self.length_ = (min(self.length_[0], fresh["lengths"][0]), max(self.length_[1], fresh["lengths"][1]))
        check_ink(self.ink, auto=True)
        derived = derive_settings([np.asarray(im).shape[:2] for im in X[:500]], list(lengths.elements()), len(X),
                                  n_classes=len(alphabet))
        derived["ink"], derived["ink_separability"] = measure_ink(X) if self.ink == "auto" else (self.ink, None)
        self.settings_ = {k: (derived[k] if getattr(self, k) == "auto" else getattr(self, k)) for k in AUTO_SETTINGS}
        self.settings_["derived"] = derived
        self.settings_["pinned"] = [k for k in AUTO_SETTINGS if getattr(self, k) != "auto"]
        if self.head == "auto" and self.length_[0] != self.length_[1]:
            self.settings_["head"] = "ctc"
        self.settings_["width_pools"] = pools
        self.height_, self.width_ = int(self.settings_["height"]), int(self.settings_["width"])
        self.head_ = self.settings_["head"]
        self.ink_ = self.settings_["ink"]
        batch_size, epochs = int(self.settings_["batch_size"]), int(self.settings_["epochs"])
        patience, warmup = int(self.settings_["patience"]), int(self.settings_["warmup_steps"])
        if self.head_ == "positions" and self.length_[0] != self.length_[1]:
            raise CaptchakitError("the positions head needs labels of one length; use head='ctc'")
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(X))
        n_val = max(1, int(round(len(X) * self.validation_split))) if len(X) > 1 else 0
        va, tr = perm[:n_val], perm[n_val:]
        Xv, yv = [X[i] for i in va], [y[i] for i in va]
        X, y = [X[i] for i in tr], [y[i] for i in tr]
        n_classes = len(alphabet)
        strategy = _strategy(self.distribute)
        give_up = max(self.stuck_epochs, math.ceil(epochs / 2)) if self.restart else None
        run = dict(head=self.head_, batch_size=batch_size, epochs=epochs, patience=patience, warmup_steps=warmup,
                   width_pools=pools, learning_rate=self.learning_rate, seed=self.seed,
                   extend=self.epochs == "auto" and not fresh)
        if self.time_limit is not None and (isinstance(self.time_limit, bool) or not (
                isinstance(self.time_limit, (int, float)) and 0 < self.time_limit < math.inf)):
            raise CaptchakitError(f"time_limit must be a number of seconds above 0 or None, got {self.time_limit!r}")
        self.warnings_ = []
        t_start = time.perf_counter()
        self._clock = (t_start, self.time_limit, {}) if self.time_limit else None
        init, pretrained = self._pretrain(X, run, n_classes, strategy)
        if fresh:
            fresh["per_epoch"] = fresh["per_epoch"] or len(X)
            if self.verbose:
                print(f"fresh data: after one pass over the {len(X)} given training images, every epoch draws "
                      f"{fresh['per_epoch']} new python-captcha images (seed {fresh['seed']}, from image "
                      f"{fresh['start']} of that seeded sequence on)", flush=True)
        if self.verbose:
            print(_settings_line(self.settings_), flush=True)
            # Keras counts to twice the epochs (thrice with the extension): those with the loss still near
            # chance do not count
            print(f"training: at most {epochs} epochs"
                  + (f", {epochs} more if the validation loss is still falling then" if run["extend"] else "")
                  + f" (Keras counts to {(3 if run['extend'] else 2) * epochs}: epochs with the loss still near "
                  f"chance do not count), early-stopping patience {patience}"
                  + (f", time limit {self.time_limit:g} s" if self.time_limit else ""), flush=True)
        hist, hold, chance, _ = self._train(X, y, Xv, yv, run, n_classes, strategy, give_up, init, fresh)
        restart = None
        if hold.gave_up:
            first = {"epochs_run": len(hist.epoch), "loss": float(hist.history["loss"][-1]), "settings": run}
            run = restart_recipe(run, len(X), pinned=self.settings_["pinned"])
            restart = {"after_epochs": len(hist.epoch), "first_run": first, "recipe": run}
            # pretrained weights fit only the head they were trained with
            init = init if run["head"] == first["settings"]["head"] else None
            start = "the pretrained weights" if init is not None else "scratch"
            msg = (f"the training loss stayed near chance for {len(hist.epoch)} epochs in a row: training once more "
                   f"from {start} with the small-data recipe (head {run['head']}, batch {run['batch_size']}, at most "
                   f"{run['epochs']} epochs, patience {run['patience']}, learning rate {run['learning_rate']:g}, "
                   f"warm-up {run['warmup_steps']} steps, seed {run['seed']})")
            self.warnings_.append(msg)
            if self.verbose:
                print(f"RESTART: {msg}", flush=True)
            for k in ("head", "batch_size", "epochs", "patience", "warmup_steps"):
                self.settings_[k] = run[k]
            self.settings_["restarted"] = True
            hist, hold, chance, _ = self._train(X, y, Xv, yv, run, n_classes, strategy, None, init, fresh)
        self.history_ = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        limited = None
        if self._clock is not None:
            limited = {"seconds": float(self.time_limit), "stopped": bool(self._clock[2].get("stopped")),
                       "learning_rate_halvings": int(self._clock[2].get("annealed", 0))}
            if limited["stopped"]:
                halved = limited["learning_rate_halvings"]
                msg = (f"training stopped at its time limit ({self.time_limit:g} s) after {len(hist.epoch)} "
                       f"epoch{'s' if len(hist.epoch) != 1 else ''} of at most {run['epochs']}"
                       + (f" (the learning rate halved {halved} time{'s' if halved > 1 else ''} as the limit came near)"
                          if halved else "")
                       + "; the best weights seen are kept (a longer limit or none may read better)")
                self.warnings_.append(msg)
                if self.verbose:
                    print(f"TIME LIMIT: {msg}", flush=True)
        self.fit_summary_ = {"n_images": len(X), "n_validation": len(Xv), "epochs_run": len(hist.epoch),
                             "seconds": time.perf_counter() - t_start, "head": self.head_,
                             "settings": self.settings_, "plateau_epochs": hold.epochs,
                             "plateau_still_leaving_epochs": hold.extended,
                             "epochs_past_budget": hold.beyond_budget, "epoch_budget": run["epochs"],
                             "chance_loss": chance, "label_lengths": {str(k): v for k, v in sorted(lengths.items())},
                             "replicas": strategy.num_replicas_in_sync if strategy is not None else 1,
                             "devices": list(strategy.extended.worker_devices) if strategy is not None else [],
                             "restart": restart, "pretrain": pretrained, "time_limit": limited,
                             "fresh": ({k: fresh[k] for k in ("alphabet", "length", "width", "height", "seed", "start",
                                                              "per_epoch")} | {"images_drawn": fresh["drawn"]}
                                       if fresh else None)}
        return self

    def _fresh_spec(self):
        """The checked fresh-data spec with its characters and length range, or None."""
        if self.fresh is None:
            return None
        from captchakit.cnn_baseline._fresh import check_fresh_spec
        from captchakit.data import parse_length

        spec = check_fresh_spec(self.fresh)
        spec["chars"] = fold_alphabet(resolve_alphabet(spec["alphabet"]), self.fold)
        spec["lengths"] = parse_length(spec["length"])
        spec["drawn"] = 0
        return spec

    def _pretrain(self, X, run, n_classes, strategy):
        """Pretrain on synthetic look-alikes when *pretrain* asks for it; returns (weights or None, summary)."""
        from captchakit.cnn_baseline._pretrain import (PRETRAIN_MODES, median_shape, pretrain_plan,
                                                       synthetic_lookalikes)

        if self.pretrain not in PRETRAIN_MODES:
            raise CaptchakitError(f"pretrain must be one of {', '.join(PRETRAIN_MODES)}, got {self.pretrain!r}")
        plan = pretrain_plan(len(X), self.pretrain, run["batch_size"])
        if plan is None:
            return None, None
        shape = median_shape(X)
        if self.verbose:
            print(f"pretraining on {plan['images']} synthetic python-captcha look-alikes (alphabet of "
                  f"{len(self.alphabet_)} characters, lengths {self.length_[0]}-{self.length_[1]}, "
                  f"{shape[0]}x{shape[1]} px) for {plan['epochs']} epochs", flush=True)
        t0 = time.perf_counter()
        Xs, ys, font = synthetic_lookalikes(plan["images"], self.alphabet_, self.length_, shape,
                                            seed=self.seed + 1000)
        n_val = len(Xs) // 10
        pre_run = dict(run, epochs=plan["epochs"], patience=plan["epochs"], seed=self.seed + 1000, extend=False)
        hist, _, _, _ = self._train(Xs[n_val:], ys[n_val:], Xs[:n_val], ys[:n_val], pre_run, n_classes, strategy,
                                    None)
        return self.model_.get_weights(), {
            "source": "python-captcha", "images": plan["images"], "epochs_run": len(hist.epoch),
            "seconds": time.perf_counter() - t0, "loss": float(hist.history["loss"][-1]),
            "val_loss": float(hist.history["val_loss"][-1]) if "val_loss" in hist.history else None,
            "image_size": list(shape), "font": font, "seed": self.seed + 1000}

    def _train(self, X, y, Xv, yv, run, n_classes, strategy, give_up, init=None, fresh=None):
        """One training run with the settings in *run*, from *init* weights or from scratch, on *X*
        (then on fresh images each epoch with a *fresh* spec); returns (history, hold, chance, t0)."""
        import keras

        keras.utils.set_random_seed(run["seed"])
        self.head_ = run["head"]
        batch_size, epochs, patience, warmup = run["batch_size"], run["epochs"], run["patience"], run["warmup_steps"]
        xt, yt = to_input(X, self.height_, self.width_, self.ink_), self._encode(y)
        xv, yvv = to_input(Xv, self.height_, self.width_, self.ink_), self._encode(yv)
        if strategy is not None and strategy.num_replicas_in_sync > 1:
            # every batch must split evenly between the replicas (an uneven last batch fails in TF's
            # cross-replica sum): a batch size that is a multiple of the replicas, and at most
            # replicas - 1 images fewer in each part
            r = strategy.num_replicas_in_sync
            batch_size = -(-batch_size // r) * r
            keep_t, keep_v = len(xt) - len(xt) % r, len(xv) - len(xv) % r
            xt, yt, xv, yvv = xt[:keep_t], yt[:keep_t], xv[:keep_v], yvv[:keep_v]
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            self.model_ = build_model(self.height_, self.width_, n_classes, self.length_[1], self.head_,
                                      tuple(self.filters), self.rnn_units, self.dropout,
                                      width_pools=run["width_pools"])
            if init is not None:
                self.model_.set_weights(init)
            lr = run["learning_rate"]
            if self.schedule == "cosine":
                steps = max(1, -(-len(xt) // batch_size) * epochs)
                lr = keras.optimizers.schedules.CosineDecay(
                    run["learning_rate"] / 10, steps, alpha=0.01, warmup_target=run["learning_rate"],
                    warmup_steps=steps // 15)
            self.model_.compile(optimizer=keras.optimizers.Adam(lr), loss=self._loss())
        # Keras averages the cross-entropy over the positions, so the positions head's
        # loss at chance is ln(C) (L*ln(C) summed); the CTC loss is per whole label.
        chance = (chance_loss(1, n_classes) if self.head_ == "positions"
                  else chance_loss(self.length_[1], n_classes + 1))
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True,
                                                start_from_epoch=min(5, epochs // 3))
        # a run still improving at the end of its budget may go on for as many epochs again (not when the
        # epochs were pinned, or with fresh images: their own recipe says how long)
        extend = epochs if run["extend"] else None
        hold = _plateau_hold(chance, [stopper], budget=epochs, give_up=give_up, extend=extend,
                             recent=max(2, patience // 2))
        callbacks = [hold, stopper, _stuck_callback(chance, self.stuck_epochs, self.warnings_, n_classes=n_classes,
                                                       hold=hold)]
        if getattr(self, "_clock", None) is not None:
            # a budget that cannot be extended ends the run as surely as the clock: its last epochs anneal too
            left = None if extend else (lambda: epochs - hold.counted)
            callbacks.append(_deadline_callback(*self._clock, left=left))
        if self.schedule == "plateau":
            reducer = keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=max(1, patience // 2), min_lr=1e-5, verbose=0)
            hold.watched.append(reducer)
            callbacks.append(reducer)
            if warmup:
                callbacks.append(_warmup_callback(run["learning_rate"], warmup))
        t0 = time.perf_counter()
        steps, source = None, None
        if fresh:
            from captchakit.cnn_baseline._fresh import FreshEpochs

            if strategy is not None and strategy.num_replicas_in_sync > 1:
                raise CaptchakitError("fresh data per epoch does not run under --distribute mirrored yet")
            per_epoch = fresh["per_epoch"]
            source = FreshEpochs(fresh, per_epoch, lambda ims, labs: (to_input(ims, self.height_, self.width_, self.ink_),
                                                                     self._encode(self.fold_labels(labs))))
            steps = max(1, per_epoch // batch_size)
            train_ds = fresh_dataset((xt, yt), source, batch_size, self.augment, run["seed"], noise=self.noise)
        else:
            train_ds = make_dataset(xt, yt, batch_size, self.augment, run["seed"], noise=self.noise)
        try:
            with native_noise_filtered():  # what TensorFlow's C++ core says meanwhile, less its chatter
                hist = self.model_.fit(
                    train_ds, steps_per_epoch=steps,
                    validation_data=make_dataset(xv, yvv, 256, False, run["seed"], shuffle=False) if len(xv) else None,
                    epochs=2 * epochs + (extend or 0), callbacks=callbacks, verbose=keras_verbosity(self.verbose),
                    shuffle=False)  # the dataset shuffles itself, seeded
        finally:
            if source is not None:
                source.close()
                fresh["drawn"] += source.drawn
        return hist, hold, chance, t0

    @property
    def input_shape(self):
        return (getattr(self, "height_", None), getattr(self, "width_", None)) if hasattr(self, "height_") else None

    def training_note(self):
        s = self.fit_summary_
        st = s.get("settings") or {}
        head = _settings_line(st) + "\n" if st else ""
        return head + (f"trained on {s['n_images']} images ({s['n_validation']} more for early stopping), head "
                       f"{s['head']}, {s['epochs_run']} epochs in {s['seconds']:.0f} s"
                       + (f"; {s['plateau_epochs']} epochs with the loss near chance (early stopping and the "
                          "learning-rate reduction waited for learning to begin)" if s.get("plateau_epochs") else "")
                       + (f"; pretrained first on {s['pretrain']['images']} synthetic look-alikes "
                          f"({s['pretrain']['epochs_run']} epochs, {s['pretrain']['seconds']:.0f} s)"
                          if s.get("pretrain") else "")
                       + (f"; fresh data: {s['fresh']['images_drawn']} newly drawn images after one pass over the "
                          "given ones" if s.get("fresh") else "")
                       + (f"; {s['epochs_past_budget']} epochs past its budget of {s['epoch_budget']}, the validation "
                          "loss still falling" if s.get("epochs_past_budget") else "")
                       + (f"; restarted once with the small-data recipe after {s['restart']['after_epochs']} epochs "
                          "near chance (the figures above are the restart's)" if s.get("restart") else "")
                       + (f"; stopped at its time limit of {s['time_limit']['seconds']:g} s"
                          if (s.get("time_limit") or {}).get("stopped") else ""))

    # ------------------------------------------------------------------ predict
    def _decode(self, out):
        if self.head_ == "positions":
            best = out.argmax(axis=-1)
            conf = out.max(axis=-1)
            return ["".join(self.alphabet_[i] for i in row) for row in best], [list(map(float, c)) for c in conf]
        e = np.exp(out - out.max(axis=-1, keepdims=True))
        prob = e / e.sum(axis=-1, keepdims=True)
        best = prob.argmax(axis=-1)
        texts, confs = [], []
        for row, p in zip(best, prob):
            chars, cs, prev = [], [], 0
            for t, k in enumerate(row):
                if k != 0 and k != prev:
                    chars.append(self.alphabet_[k - 1])
                    cs.append(float(p[t, k]))
                prev = k
            texts.append("".join(chars))
            confs.append(cs)
        return texts, confs

    def _predict_details(self, X):
        """Predictions with per-character confidences.

        Returns
        -------
        list of dict
            ``text``, ``confidence``, ``char_confidences`` and ``extra``
            (``head``: the output head that read it).
        """
        check_is_fitted(self, "model_")
        X = list(X)
        if not X:
            return []
        texts, confs = self._decode(self._forward(to_input(X, self.height_, self.width_, self.ink_)))
        return [detail(t, c, head=self.head_) for t, c in zip(texts, confs)]

    def _forward(self, x, batch_size=256):
        """The network's outputs for inputs *x* ``(n, h, w, 1)``, *batch_size* at a time.

        One traced function per fitted network, for any number of images: ``model.predict`` traced
        again for every new batch shape (a last partial batch, a single image; TensorFlow warned about
        it in ``compare``) and took about 190 ms for one image, against about 11 ms here (2-core CPU).
        """
        import tensorflow as tf

        cached = self.__dict__.get("_forward_fn")
        if cached is None or cached[0] is not self.model_:
            model = self.model_

            @tf.autograph.experimental.do_not_convert
            def run(t):
                return model(t, training=False)

            sig = [tf.TensorSpec((None, self.height_, self.width_, 1), tf.float32)]
            cached = self._forward_fn = (model, tf.function(run, input_signature=sig))
        return np.concatenate([cached[1](x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)])

    # ------------------------------------------------------------------ persistence
    def describe(self):
        """Everything needed to use the fitted network, as JSON-ready data."""
        check_is_fitted(self, "model_")
        return {
            "method": "cnn",
            "alphabet": self.alphabet_,
            "length": list(self.length_),
            "head": self.head_,
            "input": {"height": self.height_, "width": self.width_, "channels": 1, "ink": self.ink_,
                      "scaling": ("grey, background light, 1 - grey/255 (ink high)" if self.ink_ == "luminance" else
                                  "Lab distance from each column's paper, scaled to the image's largest (ink high)"),
                      "resize": "INTER_AREA"},
            "training": self.fit_summary_,
            "history": self.history_,
        }

    @classmethod
    def _params_from_json(cls, params):
        p = dict(params)
        p["filters"] = tuple(p.get("filters") or ())
        return p

    def _restore(self, meta):
        if meta.get("head") not in ("positions", "ctc"):
            raise CaptchakitError(f"field 'head' must be positions or ctc, got {meta.get('head')!r}")
        self.alphabet_, self.length_, self.head_ = meta["alphabet"], tuple(meta["length"]), meta["head"]
        self.height_, self.width_ = int(meta["input"]["height"]), int(meta["input"]["width"])
        # bundles from before the setting read grey
        self.ink_ = check_ink(meta["input"].get("ink", "luminance"), "field 'input.ink'")
        self.history_, self.fit_summary_ = meta.get("history", {}), meta.get("training", {})

    def _write_payload(self, file):
        self.model_.save(file)

    def _read_payload(self, file):
        keras = import_keras()

        try:
            self.model_ = keras.saving.load_model(file, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"{file}: cannot load Keras model safely ({type(exc).__name__}: {exc})") from None
        shape = tuple(self.model_.input_shape[1:3])
        if shape != (self.height_, self.width_):
            raise ModelFileError(f"{file}: network input {shape} does not match model.json ({self.height_}, "
                                 f"{self.width_})")
