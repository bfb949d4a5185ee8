<?php
// Gregwar/Captcha (PHP, Packagist: the captcha of many Symfony and PHP sites; Debian's php-gregwar-captcha)
// with its defaults, as CaptchaBuilder::create()->build()->output() serves it: 150x40 JPEG (quality 90), a
// 5-character phrase of its charset in one of its bundled fonts, lines behind and in front of the text,
// the text's letters turned and shifted, the whole image distorted. Its testPhrase() compares phrases
// case-insensitively with 0 and 1 read as o and l, so the label is the phrase as it compares (doNiceize).
// Benchmark-only: apt-get install php-cli php-gd php-gregwar-captcha.
// Usage: php gregwar.php OUT_FOLDER N SEED  -> OUT_FOLDER/00000.jpg ... and OUT_FOLDER/labels.csv
require_once '/usr/share/php/Gregwar/Captcha/autoload.php';

use Gregwar\Captcha\CaptchaBuilder;
use Gregwar\Captcha\PhraseBuilder;

[$script, $out, $n, $seed] = $argv;
mt_srand((int) $seed);
$labels = fopen("$out/labels.csv", 'w') or die("$out/labels.csv: cannot write\n");
fwrite($labels, "filename,label\n");
for ($i = 0; $i < (int) $n; $i++) {
    $builder = new CaptchaBuilder();
    $builder->build();
    $file = sprintf('%05d.jpg', $i);
    $builder->save("$out/$file", 90);
    fwrite($labels, $file . ',' . PhraseBuilder::doNiceize($builder->getPhrase()) . "\n");
}
fclose($labels);
