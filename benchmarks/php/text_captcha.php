<?php
// PEAR Text_CAPTCHA (PHP; Debian's php-text-captcha) with its Image driver as its SimpleExample.php sets it up:
// 200x80 PNG, light text (#DDFF99) on dark grey (#555555) in Courier at 24 points, the whole line turned by
// -15 to 15 degrees, three lines from each corner region and three circles in #CCEEDD. The phrase is its
// default: Text_Password's pronounceable 8 lower-case letters (width / 25), drawn here as Text_Password draws it
// but from mt_rand (it takes random_int, which no seed repeats) and passed as the phrase. The example's COUR.TTF
// is not free; Liberation Mono has Courier New's metrics.
// Benchmark-only: apt-get install php-cli php-gd php-text-captcha fonts-liberation.
// Usage: php text_captcha.php OUT_FOLDER N SEED  -> OUT_FOLDER/00000.png ... and OUT_FOLDER/labels.csv
require_once 'Text/CAPTCHA.php';

[$script, $out, $n, $seed] = $argv;
mt_srand((int) $seed);
$options = [
    'width' => 200, 'height' => 80, 'output' => 'png',
    'imageOptions' => [
        'font_size' => 24, 'font_path' => '/usr/share/fonts/truetype/liberation/',
        'font_file' => 'LiberationMono-Regular.ttf', 'text_color' => '#DDFF99', 'lines_color' => '#CCEEDD',
        'background_color' => '#555555',
    ],
];
// Text_Password::_createPronounceable, with mt_rand
function pronounceable($length)
{
    $v = ['a', 'e', 'i', 'o', 'u', 'ae', 'ou', 'io', 'ea', 'ou', 'ia', 'ai'];
    $c = ['b', 'c', 'd', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'u', 'v', 'w',
          'tr', 'cr', 'fr', 'dr', 'wr', 'pr', 'th', 'ch', 'ph', 'st', 'sl', 'cl'];
    $out = '';
    for ($i = 0; $i < $length; $i++) {
        $out .= $c[mt_rand(0, count($c) - 1)] . $v[mt_rand(0, count($v) - 1)];
    }
    return substr($out, 0, $length);
}

$labels = fopen("$out/labels.csv", 'w') or die("$out/labels.csv: cannot write\n");
fwrite($labels, "filename,label\n");
for ($i = 0; $i < (int) $n; $i++) {
    $c = Text_CAPTCHA::factory('Image');
    $c->init($options + ['phrase' => pronounceable(8)]);
    $file = sprintf('%05d.png', $i);
    file_put_contents("$out/$file", $c->getCAPTCHA());
    fwrite($labels, $file . ',' . $c->getPhrase() . "\n");
}
fclose($labels);
