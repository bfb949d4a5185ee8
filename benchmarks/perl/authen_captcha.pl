#!/usr/bin/perl
# Authen::Captcha (Perl, CPAN; Debian's libauthen-captcha-perl) with its defaults, as generate_code(5) draws
# it: its own 25x35 picture of each character (2-8 and a-y, a digit a quarter of the time), each pasted
# twice, once shifted and resized at random; lines and dots in the picture's colours and black dots; one of
# its five background pictures merged at 40%; a black 1-px border. 125x35 PNG. Its create_image_file and
# generate_random_string are called directly, so that no database or output folder is written.
# Benchmark-only: apt-get install libauthen-captcha-perl.
# Usage: perl authen_captcha.pl OUT_FOLDER N SEED  -> OUT_FOLDER/00000.png ... and OUT_FOLDER/labels.csv
use strict;
use warnings;
use Authen::Captcha;

my ($out, $n, $seed) = @ARGV;
srand($seed);
my $captcha = Authen::Captcha->new();
open(my $labels, '>', "$out/labels.csv") or die "$out/labels.csv: $!\n";
print $labels "filename,label\n";
for my $i (0 .. $n - 1) {
    my $code = $captcha->generate_random_string(5);
    my $png = $captcha->create_image_file($code);
    my $file = sprintf('%05d.png', $i);
    open(my $fh, '>:raw', "$out/$file") or die "$out/$file: $!\n";
    print $fh $$png;
    close($fh);
    print $labels "$file,$code\n";
}
close($labels);
