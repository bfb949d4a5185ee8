"""What a label means: case and look-alike folding, and arithmetic captchas.

Pure functions over strings; the recognizers store their settings
(``fold``, ``task``) in the model bundle and apply them at training and
scoring, so training and serving cannot drift apart.
"""

import re
from fractions import Fraction

from captchakit._errors import CaptchakitError

TASKS = ("text", "arithmetic")


def parse_fold(spec):
    """Read a folding spec: ``"case"`` and/or groups of look-alikes, comma-separated.

    ``case`` folds every letter to lower case (any script); any other item
    is a group of characters read as its first one (``0O``: ``O`` reads as
    ``0``).

    Returns
    -------
    case : bool
    table : dict
        ``{char: replacement}``, applied after the case folding.

    Examples
    --------
    >>> parse_fold("0O,1lI")
    (False, {'O': '0', 'l': '1', 'I': '1'})
    >>> parse_fold("case,0o")
    (True, {'o': '0'})
    >>> parse_fold(None)
    (False, {})
    """
    if not spec:
        return False, {}
    if not isinstance(spec, str):
        raise CaptchakitError(f"fold must be a string such as 'case' or '0O,1lI', got {spec!r}")
    case, table = False, {}
    for item in (i.strip() for i in spec.split(",")):
        if not item:
            continue
        if item == "case":
            case = True
            continue
        if len(item) < 2:
            raise CaptchakitError(f"fold group {item!r} needs at least two characters (e.g. 0O: O reads as 0)")
        for ch in item[1:]:
            table[ch] = item[0]
    if case:
        table = {k.lower(): v.lower() for k, v in table.items() if k.lower() != v.lower()}
    return case, table


def fold_text(text, fold):
    """Apply a folding spec to *text*.

    Examples
    --------
    >>> fold_text("AbO1", "case,0o")
    'ab01'
    >>> fold_text("O0Il", "0O,1lI")
    '0011'
    >>> fold_text("Ab", None)
    'Ab'
    """
    case, table = parse_fold(fold)
    if case:
        text = text.lower()
    return "".join(table.get(ch, ch) for ch in text) if table else text


def fold_alphabet(alphabet, fold):
    """The characters an alphabet has once folded, sorted.

    Examples
    --------
    >>> fold_alphabet("0123OIl", "0O,1lI")
    '0123'
    """
    return "".join(sorted(set(fold_text(alphabet, fold))))


def unfold_alphabet(alphabet, fold):
    """Every character a label may hold that folds into *alphabet* (for checking raw labels).

    Examples
    --------
    >>> unfold_alphabet("ab", "case")
    'ABab'
    >>> unfold_alphabet("01", "0O,1lI")
    '01IOl'
    """
    case, table = parse_fold(fold)
    if not case and not table:
        return alphabet
    chars = set(alphabet) | set(table)
    if case:
        chars |= {c.upper() for c in chars} | {c.upper() for c in table}
    target = set(fold_text(alphabet, fold))
    return "".join(sorted(c for c in chars if fold_text(c, fold) in target))


# ---------------------------------------------------------------- arithmetic
_TOKEN = re.compile(r"\s*(?:(\d+)|([-+*/x×÷]))")
_OPS = {"x": "*", "×": "*", "÷": "/"}


def evaluate_expression(text):
    """The value of an arithmetic reading such as ``14+4``, ``7x3`` or ``9-2=?``.

    Integers and ``+ - * / x × ÷`` with the usual precedence; a trailing
    ``=`` or ``=?`` is ignored.  No ``eval``: a small parser.

    Returns
    -------
    int or Fraction or None
        None when *text* is not a valid expression (or divides by zero).

    Examples
    --------
    >>> evaluate_expression("14+4"), evaluate_expression("2+3x4"), evaluate_expression("8÷2")
    (18, 14, 4)
    >>> evaluate_expression("1++2") is None, evaluate_expression("") is None
    (True, True)
    """
    text = str(text).strip()
    text = re.sub(r"=\s*\??\s*$", "", text)
    pos, tokens = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            return None
        tokens.append(int(m.group(1)) if m.group(1) else _OPS.get(m.group(2), m.group(2)))
        pos = m.end()
    if not tokens or len(tokens) % 2 == 0:
        return None
    if any(isinstance(t, int) != (i % 2 == 0) for i, t in enumerate(tokens)):
        return None
    # one pass for * and /, one for + and -
    terms, ops = [Fraction(tokens[0])], []
    for op, num in zip(tokens[1::2], tokens[2::2]):
        if op in "*/":
            if op == "/" and num == 0:
                return None
            terms[-1] = terms[-1] * num if op == "*" else terms[-1] / num
        else:
            ops.append(op)
            terms.append(Fraction(num))
    value = terms[0]
    for op, t in zip(ops, terms[1:]):
        value = value + t if op == "+" else value - t
    return int(value) if value.denominator == 1 else value


def answer_of(text):
    """``(answer, note)`` for a reading: the value as a string, or None and why not.

    Examples
    --------
    >>> answer_of("14+4"), answer_of("14+")
    (('18', None), (None, 'not a valid expression'))
    """
    v = evaluate_expression(text)
    if v is None:
        return None, "not a valid expression"
    return str(v), None


def check_task(task):
    if task not in TASKS:
        raise CaptchakitError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    return task
