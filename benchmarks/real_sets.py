"""Real and foreign captcha schemes, read with no flags: KNN, SVM (and the CNN with --cnn), plus a peer.

Every recognizer is built exactly as ``captcha-cli train DATA --method M``
builds it (no options), trained on a seeded training part and scored on the
held-out part.  Sets:

- the shared real sets: ``captcha_images_v2`` and ``lzu_digits`` (80/20,
  seed 0), ``math_captcha`` (train/ vs evaluate/ + test/, with ``task="arithmetic"``:
  the answer accuracy too);
- python-captcha 4 digits (our own generator, as a regression check) and
  4-6 digits (variable length);
- ``chinese_4char`` (80/20, seed 0): 119 CJK characters;
- six other generators from PyPI (benchmark-only extras, ``pip install
  -e '.[bench]'``): ``claptcha``, ``multicolorcaptcha``, ``wheezy.captcha``, ``gvcode``,
  ``flask-simple-captcha`` and ``captchagen`` (2,000 images each, seed 0, 80/20);
- ``svg-captcha`` from npm, rendered to PNG, ``trek-captcha`` from npm, as
  its GIFs, ``captchapng`` from npm, as its PNGs with a transparent
  background, ``node-captcha-generator`` from npm (MNIST handwritten digits), as its BMPs, and
  ``ppfun-captcha`` from npm (outlined characters joined into one path), rendered to PNG
  (``benchmarks/npm``; need ``node`` and ``npm install --prefix
  benchmarks/npm``), 2,000 images each, seed 0, 80/20;
- ``django-simple-captcha`` from PyPI, in its own environment (its import
  name, ``captcha``, is python-captcha's; ``benchmarks/django``), 2,000
  images, seed 0, 80/20;
- ``security-image``: GD::SecurityImage from CPAN (Perl), as its demo program draws it
  (``benchmarks/perl``; needs ``perl`` and ``apt-get install
  libgd-securityimage-perl fonts-dejavu-core``), 2,000 images, seed 0, 80/20;
- ``gregwar``: Gregwar/Captcha from Packagist (PHP) with its defaults
  (``benchmarks/php``; needs ``php`` and ``apt-get install php-cli php-gd
  php-gregwar-captcha``), 2,000 images, seed 0, 80/20;
- three more from Debian, each drawn by its own code: ``text-captcha`` (PEAR
  Text_CAPTCHA, PHP, as its example sets it up; ``apt-get install php-cli
  php-gd php-text-captcha fonts-liberation``), ``simple_captcha2`` (Ruby, the
  Rails plugin, through ImageMagick; ``apt-get install ruby-simple-captcha2
  imagemagick``) and ``authen-captcha`` (Authen::Captcha, Perl; ``apt-get
  install libauthen-captcha-perl``), 2,000 images each, seed 0, 80/20;
- ``colour-lines`` (ours, no extra): characters of many colours crossed by
  lines of other colours, for the colour clusters of the front end;
- the peer column: ``ddddocr`` (pretrained, no training) on the same test
  images.

Usage::

    python benchmarks/real_sets.py [--sets a,b] [--methods knn,svm] [--cnn] [--count 2000] [--jpeg 75]

``--jpeg Q`` serves every set's training and test images as JPEG at quality
*Q* (Pillow, decoded as RGB), as many sites serve their captchas.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from captchakit import make_recognizer  # noqa: E402
from captchakit.compare import split_data  # noqa: E402
from captchakit.data import generate_captchas, load_labelled  # noqa: E402
from captchakit.data._io import decode_image  # noqa: E402
from captchakit.evaluate import evaluate  # noqa: E402
from captchakit.metrics import summarize  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FONT = None


def _font():
    import captcha

    return str(Path(captcha.__file__).parent / "data" / "DroidSansMono.ttf")


def _pil_to_array(im):
    return np.asarray(im.convert("RGB"), np.uint8).copy()


def gen_claptcha(n, seed):
    from claptcha import Claptcha
    from PIL import ImageFont

    if not hasattr(ImageFont.FreeTypeFont, "getsize"):  # claptcha 0.3.3 predates Pillow 10
        ImageFont.FreeTypeFont.getsize = lambda self, t: tuple(self.getbbox(t)[2:])

    random.seed(seed)
    rng = random.Random(seed)
    X, y = [], []
    for _ in range(n):
        text = "".join(rng.choice("0123456789abcdefghjkmnpqrstuvwxyz") for _ in range(4))
        c = Claptcha(text, _font(), size=(160, 60), margin=(12, 10), noise=0.25)
        X.append(_pil_to_array(c.image[1]))
        y.append(text)
    return X, y


def gen_multicolor(n, seed):
    from multicolorcaptcha import CaptchaGenerator

    random.seed(seed)
    gen = CaptchaGenerator(captcha_size_num=1)
    X, y = [], []
    for _ in range(n):
        cap = gen.gen_captcha_image(difficult_level=1, chars_mode="nums", multicolor=True, margin=False)
        X.append(_pil_to_array(cap.image))
        y.append(cap.characters)
    return X, y


def gen_wheezy(n, seed):
    from wheezy.captcha.image import background, captcha, curve, noise, offset, rotate, smooth, text, warp

    random.seed(seed)
    rng = random.Random(seed)
    draw = captcha(width=200, height=75, drawings=[
        background(), text(fonts=[_font()], font_sizes=(50, 54, 58), drawings=[warp(), rotate(), offset()]),
        curve(), noise(), smooth()])
    X, y = [], []
    for _ in range(n):
        t = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(4))
        X.append(_pil_to_array(draw(list(t))))
        y.append(t)
    return X, y


def gen_gvcode(n, seed):
    """gvcode (PyPI, a "verification code" generator of Chinese Python sites) with its defaults: 200x80, 5
    characters of upper and lower case letters and digits (62, case-sensitive), each in one of six colours
    and turned by -30 to 90 degrees inside its own 55-px tile (the turn can clip it), five 3-px lines of
    the same colours."""
    import io

    from gvcode import VFCode
    from PIL import Image

    random.seed(seed)  # gvcode draws with the random module
    X, y = [], []
    for _ in range(n):
        v = VFCode()
        v.generate_mix()
        # its public output, a PNG (lossless: the same pixels as its private image)
        X.append(_pil_to_array(Image.open(io.BytesIO(v.get_img_bytes("png")))))
        y.append(v.code)
    return X, y


NPM = Path(__file__).resolve().parent / "npm"


def gen_svg_captcha(n, seed):
    """svg-captcha (npm, the common captcha of Node.js sites) with its defaults, rendered to PNG by resvg:
    4 characters of upper and lower case letters and digits (62, case-sensitive), each in its own colour,
    drawn as outlined glyphs, crossed by two curves of other colours.  Needs ``node`` and ``npm install
    --prefix benchmarks/npm`` (benchmark-only, like the PyPI generators)."""
    return _npm_set("svg-captcha", "svg_captcha.js", n, seed)


def gen_ppfun_captcha(n, seed):
    """ppfun-captcha (npm, the captcha of pixelplanet.fun: svg-captcha forked and hardened against its known crack)
    with its defaults, rendered to PNG by resvg on white: 500x300, 4 characters of upper and lower case letters and
    digits (62, case-sensitive), 1-px black outlines of its Comismsh glyphs, all joined into one path by random
    connecting lines, the path's nodes moved and some of its lines and curves cut.  Needs ``node`` and ``npm
    install --prefix benchmarks/npm``."""
    return _npm_set("ppfun-captcha", "ppfun_captcha.js", n, seed)


def gen_trek_captcha(n, seed):
    """trek-captcha (npm, pure JavaScript, after rucaptcha) with its defaults, as the GIFs it serves: 5 lowercase
    letters (its font draws "e" and "g" as "a": 23 letters) in one colour, skewed, a wavy 2-px line of their colour
    across the whole image and white dots punched into the ink.  Needs ``node`` and ``npm install --prefix
    benchmarks/npm``."""
    return _npm_set("trek-captcha", "trek_captcha.js", n, seed)


def gen_captchagen(n, seed):
    """captchagen (PyPI, Pillow) with its noise, turned characters and random colours on: 4-6 characters of 32
    (upper case and digits without the look-alikes), 200x80, each character turned by up to 25 degrees in a dark
    colour of its own, 200 dots of radius 1-3 and 8 lines of 1-2 px in other dark colours; python-captcha's
    DroidSansMono, the one font every machine here has."""
    import shutil
    import tempfile

    from CaptchaGen.CaptchaGen import CaptchaConfig, CaptchaGenerator

    random.seed(seed)  # it draws from the random module
    with tempfile.TemporaryDirectory() as fonts:
        shutil.copy(_font(), fonts)
        gen = CaptchaGenerator(fonts, CaptchaConfig(rotate=True, noise=True, random_color=True, text_mode="custom",
                                                    custom_charset="ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))
        X, y = [], []
        for _ in range(n):
            im, text = gen.generate()
            X.append(_pil_to_array(im))
            y.append(text)
    return X, y


def gen_node_captcha_generator(n, seed):
    """node-captcha-generator (npm, pure JavaScript over jimp): five MNIST handwritten digits side by side, light
    on black, each scaled and turned at random; 225x100, as the BMPs it writes.  Needs ``node`` and ``npm install
    --prefix benchmarks/npm``."""
    return _npm_set("node-captcha-generator", "node_captcha_generator.js", n, seed)


def gen_captchapng(n, seed):
    """captchapng (npm, pure JavaScript) as its README's example uses it: 80x30 PNGs of a 4-digit number, grey
    ink on a transparent background, each digit in one of its built-in fonts (bold, or 1-px thin) and moved at
    random.  Needs ``node`` and ``npm install --prefix benchmarks/npm``."""
    return _npm_set("captchapng", "captchapng.js", n, seed)


def gen_flask_simple_captcha(n, seed):
    """flask-simple-captcha (PyPI, the captcha of Flask sites) with its defaults: 6 upper-case letters (24: no
    I or O) in white RobotoMono (bold, semi-bold, italic) on black, drawn at 135x45 and scaled to 180x60, seven
    2-px white lines and three ellipses across them, served as JPEG (quality 85)."""
    import base64
    import io

    from flask_simple_captcha import CAPTCHA
    from flask_simple_captcha.config import DEFAULT_CONFIG
    from PIL import Image

    random.seed(seed)  # it draws with the random module
    c = CAPTCHA(dict(DEFAULT_CONFIG, SECRET_CAPTCHA_KEY="benchmark " * 4))  # the key signs tokens, not images
    c.characters = tuple(sorted(c.characters))  # a set's order, which varies with the process's hash seed
    c.fonts = sorted(c.fonts, key=lambda f: f.path)  # and the fonts in a fixed order
    X, y = [], []
    for _ in range(n):
        d = c.create()
        X.append(_pil_to_array(Image.open(io.BytesIO(base64.b64decode(d["img"])))))
        y.append(d["text"])
    return X, y


DJANGO = Path(__file__).resolve().parent / "django"


def gen_django_simple_captcha(n, seed):
    """django-simple-captcha (PyPI, the captcha of many Django sites) with its defaults: 4 letters in upper case,
    each turned by -35 to 35 degrees, dark green on white, two 1-px noise arcs and dots, smoothed (which leaves the
    arcs paler than the letters).  Its import name, ``captcha``, is python-captcha's too, so it runs in its own
    environment: ``python3 -m venv benchmarks/django/venv && benchmarks/django/venv/bin/pip install -r
    benchmarks/django/requirements.txt``."""
    python = DJANGO / "venv" / "bin" / "python"
    if not python.is_file():
        raise ImportError("django-simple-captcha needs its own environment: python3 -m venv benchmarks/django/venv "
                          "&& benchmarks/django/venv/bin/pip install -r benchmarks/django/requirements.txt")
    return _script_set([str(python), str(DJANGO / "simple_captcha.py")], n, seed)


PERL = Path(__file__).resolve().parent / "perl"


def gen_security_image(n, seed):
    """GD::SecurityImage (Perl, CPAN: the captcha of many Perl sites) as its demo program draws it: 6 digits,
    220x90, per image one of its six styles (text in one colour on paper of another, some light on dark, grids,
    ellipses, circles or a box of lines, thousands of particles in the text's colour), some framed in the text's
    colour.  Needs ``perl`` and ``apt-get install libgd-securityimage-perl fonts-dejavu-core``
    (``benchmarks/perl``, benchmark-only)."""
    import shutil
    import subprocess

    perl = shutil.which("perl")
    if perl is None or subprocess.run([perl, "-MGD::SecurityImage", "-e1"], capture_output=True).returncode:
        raise ImportError("GD::SecurityImage needs perl and: apt-get install libgd-securityimage-perl "
                          "fonts-dejavu-core")
    return _script_set([perl, str(PERL / "security_image.pl")], n, seed)


def gen_authen_captcha(n, seed):
    """Authen::Captcha (Perl, CPAN: the captcha of many older Perl sites) with its defaults, as
    ``generate_code(5)`` draws it: 125x35 PNGs of its own 25x35 pictures of 5 characters (2-8, a-y), each
    pasted twice, once shifted and resized; lines, dots in the picture's colours and black pepper; a
    background picture merged at 40%; a black 1-px border. Needs ``perl`` and
    ``apt-get install libauthen-captcha-perl`` (``benchmarks/perl``, benchmark-only)."""
    import shutil
    import subprocess

    perl = shutil.which("perl")
    if perl is None or subprocess.run([perl, "-MAuthen::Captcha", "-e1"], capture_output=True).returncode:
        raise ImportError("Authen::Captcha needs perl and: apt-get install libauthen-captcha-perl")
    return _script_set([perl, str(PERL / "authen_captcha.pl")], n, seed)


PHP = Path(__file__).resolve().parent / "php"


def gen_gregwar(n, seed):
    """Gregwar/Captcha (PHP, Packagist: the captcha of many Symfony and PHP sites) with its defaults, as its
    ``build()->output()`` serves it: 150x40 JPEGs of 5 characters in one of its 8 fonts and a random colour on
    paper of another, some images inverted (light on dark), lines behind and in the text's colour in front,
    letters turned and the image distorted. Labelled as its ``testPhrase`` compares: lower case, 1 as l.
    Needs ``php`` and ``apt-get install php-cli php-gd php-gregwar-captcha`` (``benchmarks/php``, benchmark-only)."""
    import shutil
    import subprocess

    php = shutil.which("php")
    autoload = Path("/usr/share/php/Gregwar/Captcha/autoload.php")
    has_gd = php is not None and not subprocess.run(
        [php, "-r", "exit(function_exists('imagettftext') ? 0 : 1);"], capture_output=True).returncode
    if not (has_gd and autoload.is_file()):
        raise ImportError("Gregwar/Captcha needs php and: apt-get install php-cli php-gd php-gregwar-captcha")
    return _script_set([php, str(PHP / "gregwar.php")], n, seed)


def gen_text_captcha(n, seed):
    """PEAR Text_CAPTCHA (PHP, the captcha of PEAR-based PHP sites) with its Image driver as its
    ``SimpleExample.php`` sets it up: 200x80 PNGs, 8 lower-case letters of a pronounceable phrase in light
    Courier (Liberation Mono) on dark grey, the whole line turned by up to 15 degrees, thin lines and circles.
    Needs ``php`` and ``apt-get install php-cli php-gd php-text-captcha fonts-liberation``
    (``benchmarks/php``, benchmark-only)."""
    import shutil
    import subprocess

    php = shutil.which("php")
    needs = "Text_CAPTCHA needs php and: apt-get install php-cli php-gd php-text-captcha fonts-liberation"
    font = Path("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf")
    if php is None or not font.is_file() or subprocess.run(
            [php, "-r", "exit((function_exists('imagettftext') && (include 'Text/CAPTCHA.php')) ? 0 : 1);"],
            capture_output=True).returncode:
        raise ImportError(needs)
    return _script_set([php, str(PHP / "text_captcha.php")], n, seed)


RUBY = Path(__file__).resolve().parent / "ruby"


def gen_simple_captcha2(n, seed):
    """simple_captcha2 (Ruby, the captcha plugin of many Rails sites) with its defaults, drawn by its own image
    helper through ImageMagick: 100x30 JPEGs of 5 upper-case letters in dark blue on white, waved and imploded.
    Needs ``ruby`` and ``apt-get install ruby-simple-captcha2 imagemagick`` (``benchmarks/ruby``,
    benchmark-only)."""
    import shutil
    import subprocess

    ruby = shutil.which("ruby")
    if ruby is None or not Path("/usr/bin/convert").is_file() or subprocess.run(
            [ruby, "-e", "require 'active_support'; require 'simple_captcha/image'"], capture_output=True).returncode:
        raise ImportError("simple_captcha2 needs ruby and: apt-get install ruby-simple-captcha2 imagemagick")
    return _script_set([ruby, str(RUBY / "simple_captcha.rb")], n, seed)


def _npm_set(package, script, n, seed):
    """The labelled images an npm generator's seeded script writes (:func:`_script_set`)."""
    import shutil

    node = shutil.which("node")
    if node is None or not (NPM / "node_modules" / package).is_dir():
        raise ImportError(f"{package} needs node and: npm install --prefix benchmarks/npm")
    return _script_set([node, str(NPM / script)], n, seed)


def _script_set(command, n, seed):
    """The labelled images that ``command OUT_DIR N SEED`` writes, with its labels.csv, to a temporary folder."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*command, tmp, str(n), str(seed)], check=True)
        X, y, _, _ = load_labelled(Path(tmp) / "labels.csv")
    return X, y


def gen_colour_lines(n, seed):
    """Our own stress scheme (no extra needed): 4 characters, each in its own colour (hue at random,
    some pale), crossed by three 2-px lines of other random colours. It stands in for the real schemes
    the issue describes (characters of many colours among lines) that saturation or luminance cannot clean."""
    import colorsys

    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    font = ImageFont.truetype(_font(), 34)
    alphabet = list("0123456789abcdefghjkmnpqrstuvwxyz")
    hls = lambda h, light, sat: tuple(int(255 * v) for v in colorsys.hls_to_rgb(h, light, sat))  # noqa: E731
    X, y = [], []
    for _ in range(n):
        text = "".join(rng.choice(alphabet, 4))
        im = Image.new("RGB", (140, 50), (250, 250, 245))
        d = ImageDraw.Draw(im)
        x = 8
        for ch in text:
            colour = hls(rng.random(), rng.uniform(0.35, 0.75), rng.uniform(0.6, 1.0))
            d.text((x + rng.integers(-2, 3), 4 + rng.integers(-3, 4)), ch, font=font, fill=colour)
            x += 30 + rng.integers(-3, 3)
        for _ in range(3):
            d.line([(rng.integers(0, 140), rng.integers(0, 50)), (rng.integers(0, 140), rng.integers(0, 50))],
                   fill=hls(rng.random(), 0.5, 1.0), width=2)
        X.append(np.asarray(im).copy())
        y.append(text)
    return X, y


def load_set(name, count):
    """``(train, test, note)`` for a set name, or None when it is not available here."""
    if name in ("captcha_images_v2", "lzu_digits", "chinese_4char"):
        if not (SHARED / name).is_dir():
            return None
        X, y, _, _ = load_labelled(SHARED / name)
        return split_data(X, y, 0.2, 0, f"shared {name}")
    if name == "math_captcha":
        if not (SHARED / name).is_dir():
            return None
        tr = load_labelled(SHARED / name / "train")
        ev = load_labelled(SHARED / name / "evaluate")
        te = load_labelled(SHARED / name / "test")
        return (tr[0], tr[1]), (ev[0] + te[0], ev[1] + te[1]), "shared math_captcha: train/ vs evaluate/+test/"
    if name == "python-captcha":
        return (generate_captchas(5000, seed=1), generate_captchas(1000, seed=2),
                "python-captcha 4 digits, train 5000 seed 1 / test 1000 seed 2")
    if name == "python-captcha-4-6":
        return (generate_captchas(5000, length="4-6", seed=1), generate_captchas(1000, length="4-6", seed=2),
                "python-captcha 4-6 digits, train 5000 seed 1 / test 1000 seed 2")
    gens = {"claptcha": gen_claptcha, "multicolorcaptcha": gen_multicolor, "wheezy.captcha": gen_wheezy,
            "colour-lines": gen_colour_lines, "svg-captcha": gen_svg_captcha, "gvcode": gen_gvcode,
            "trek-captcha": gen_trek_captcha, "captchapng": gen_captchapng,
            "django-simple-captcha": gen_django_simple_captcha, "flask-simple-captcha": gen_flask_simple_captcha,
            "captchagen": gen_captchagen, "node-captcha-generator": gen_node_captcha_generator,
            "security-image": gen_security_image, "gregwar": gen_gregwar,
            "text-captcha": gen_text_captcha, "simple_captcha2": gen_simple_captcha2,
            "authen-captcha": gen_authen_captcha, "ppfun-captcha": gen_ppfun_captcha}
    try:
        X, y = gens[name](count, 0)
    except ImportError as exc:
        print(f"{name}: {exc}", flush=True)
        return None
    return split_data(X, y, 0.2, 0, f"{name} ({count} generated, seed 0)")


def as_jpeg(images, quality):
    """*images* as a site serving them as JPEG would: each saved by Pillow at *quality* (its default chroma
    subsampling) and read back as ``captcha-cli`` reads an image file (:func:`~captchakit.data._io.decode_image`)."""
    import io

    from PIL import Image

    out = []
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(np.asarray(im)).convert("RGB").save(buf, format="JPEG", quality=quality)
        out.append(decode_image(buf.getvalue()))
    return out


def peer_ddddocr(test):
    try:
        import ddddocr
    except ImportError:
        return None
    import io

    from PIL import Image

    ocr = ddddocr.DdddOcr(show_ad=False)
    preds = []
    for im in test[0]:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="PNG")
        preds.append(ocr.classification(buf.getvalue()))
    labels = [str(v) for v in test[1]]
    # ddddocr reads case-insensitively; compare as it is used: lower case both
    return summarize([v.lower() for v in labels], [p.lower() for p in preds], 0.0, len(labels))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="lzu_digits,captcha_images_v2,math_captcha,python-captcha,python-captcha-4-6,"
                                      "claptcha,multicolorcaptcha,wheezy.captcha,gvcode,svg-captcha,trek-captcha,"
                                      "captchapng,django-simple-captcha,flask-simple-captcha,captchagen,"
                                      "node-captcha-generator,security-image,gregwar,text-captcha,simple_captcha2,"
                                      "authen-captcha,ppfun-captcha,colour-lines,chinese_4char")
    ap.add_argument("--methods", default="knn,svm", help="classic methods (none: \"\", e.g. with --cnn alone)")
    ap.add_argument("--cnn", action="store_true", help="also the CNN, no flags (slow on a CPU)")
    ap.add_argument("--count", type=int, default=2000, help="images per generated foreign scheme")
    ap.add_argument("--jpeg", type=int, metavar="QUALITY",
                    help="serve every set's training and test images as JPEG at this quality (Pillow), as a site might")
    args = ap.parse_args()
    methods = [m for m in args.methods.split(",") if m] + (["cnn"] if args.cnn else [])
    rows = []
    for name in args.sets.split(","):
        got = load_set(name, args.count)
        if got is None:
            print(f"skipped {name}: not available here", flush=True)
            continue
        train, test, note = got
        if args.jpeg:
            train, test = (as_jpeg(train[0], args.jpeg), train[1]), (as_jpeg(test[0], args.jpeg), test[1])
            note += f", as JPEG at quality {args.jpeg}"
        row = {"data": note}
        for m in methods:
            # math_captcha is read with the one flag its kind needs: --task arithmetic (answers scored too)
            # as the command line builds it: the classic front-end search in its default 2 workers (--jobs)
            rec = make_recognizer(m, **({"verbose": 0} if m == "cnn" else {"n_jobs": 2}),
                                  **({"task": "arithmetic"} if name == "math_captcha" else {}))
            t0 = time.perf_counter()
            rec.fit(*train)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            res = evaluate(rec, test[0], test[1])
            dt = time.perf_counter() - t0
            s = res["metrics"]
            preds = res["predictions"]
            row[m] = f"{s['string_accuracy']:.1%} ({s['char_accuracy']:.1%} char)"
            if "answer_accuracy" in s:
                row[m] += f", answer {s['answer_accuracy']:.1%}"
            search = getattr(rec, "front_end_", {}).get("search")
            if search and "chosen" in search:
                then = search.get("second_round", {}).get("chosen")
                row[m] += f" [{search['chosen']}{'' if then in (None, search['chosen']) else ', then ' + then}]"
            row[f"{m} s"] = f"{fit_s:.0f}"
            extra = getattr(rec, "segmentation_", "")
            probe = getattr(rec, "front_end_", {}).get("probe")
            if probe:  # both readers fitted on 90% of the training part, read on the rest
                sc = probe["scores"]
                read = {k: f"{v['string_accuracy']:.1%}" for k, v in sc.items()}
                extra += (f" (probe on {probe['n_test']} held-out training images: forced {read['forced']}, "
                          f"recognition {read.get('recognition', 'not fitted')})")
            print(f"{note} | {m} {row[m]} fit {fit_s:.0f} s, {1000 * dt / len(preds):.2f} ms/image {extra}",
                  flush=True)
        peer = peer_ddddocr(test)
        row["ddddocr (pretrained)"] = "-" if peer is None else f"{peer['string_accuracy']:.1%}"
        rows.append(row)
    cols = ["data"] + [c for m in methods for c in (m, f"{m} s")] + ["ddddocr (pretrained)"]
    print()
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")


if __name__ == "__main__":
    main()
