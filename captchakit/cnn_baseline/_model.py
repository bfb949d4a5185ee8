"""Keras 3 model builder for the end-to-end baseline (no Lambda layers)."""


def build_model(height=48, width=128, n_classes=10, length=4, head="positions",
                filters=(16, 32, 64, 96), rnn_units=64, dropout=0.25, bn_momentum=0.9,
                width_pools=2, name="captcha_cnn"):
    """Build a convolutional-recurrent captcha reader.

    Every architecture choice is an argument; nothing is read from globals.
    Four conv blocks (conv, batch norm, ReLU, pool) keep the horizontal
    resolution in the last blocks, the columns become a sequence that a
    bidirectional GRU reads, and one of two heads follows:

    * ``"positions"``: one softmax per character position (fixed length),
      output ``(batch, length, n_classes)`` probabilities. Each position is
      a learned weighting of the sequence's columns, and one character
      classifier, shared by all positions, reads them: every character of
      every label trains the same classifier (a dense layer per position
      over the flattened sequence learned each position's characters apart,
      and stayed at chance on small sets with many classes);
    * ``"ctc"``: per-column logits over ``n_classes + 1`` classes, class 0 the
      CTC blank, output ``(batch, T, n_classes + 1)`` (varying length).

    Parameters
    ----------
    height, width : int
        Input size; the input is ``(height, width, 1)`` floats in 0-1, ink high.
    n_classes : int
        Alphabet size.
    length : int
        Characters per label (positions head).
    head : {"positions", "ctc"}
    filters : tuple of int
        Channels of the conv blocks.
    rnn_units : int
        GRU units per direction (0: no recurrent layer).
    dropout : float
    bn_momentum : float
        Batch-norm moving-average momentum; 0.9 (rather than Keras's 0.99)
        lets the inference statistics settle within a short CPU training.
    width_pools : int
        How many of the first conv blocks also halve the width (the others
        halve only the height): the sequence has ``width / 2**width_pools``
        columns.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    if head not in ("positions", "ctc"):
        raise ValueError(f"head must be 'positions' or 'ctc', got {head!r}")
    inp = keras.Input((height, width, 1), name="image")
    x = inp
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        # halve both axes in the first width_pools blocks, then only the height
        pool = (2, 2) if i < width_pools else (2, 1)
        x = layers.MaxPooling2D(pool, name=f"pool{i}")(x)
    # (batch, h', w', c) -> (batch, w', h' * c): columns become the sequence
    x = layers.Permute((2, 1, 3), name="columns")(x)
    x = layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]), name="sequence")(x)
    x = layers.Dense(128, activation="relu", name="project")(x)
    x = layers.Dropout(dropout, name="drop_seq")(x)
    if rnn_units:
        x = layers.Bidirectional(layers.GRU(rnn_units, return_sequences=True), name="bigru")(x)
    if head == "ctc":
        out = layers.Dense(n_classes + 1, name="ctc_logits")(x)
    else:
        # each position is a learned weighting of the columns (one per position, shared by the
        # features), read by one character classifier shared by all positions
        x = layers.Permute((2, 1), name="by_feature")(x)
        x = layers.Dense(length, use_bias=False, name="position_pool")(x)
        x = layers.Permute((2, 1), name="by_position")(x)
        x = layers.Dropout(dropout, name="drop_head")(x)
        x = layers.Dense(n_classes, name="position_logits")(x)
        out = layers.Softmax(axis=-1, name="per_position_softmax")(x)
    return keras.Model(inp, out, name=name)
