#!/usr/bin/perl
# GD::SecurityImage (Perl, CPAN; Debian's libgd-securityimage-perl), drawn as its own demo program draws it
# (examples/demo.pl: the "gd_ttf" options, 220x90 at 30 pt, and per image a random one of its six styles with
# their colours, lines and particles; its default random code, 6 digits), with DejaVu Sans Bold for the demo's
# StayPuft.ttf. Benchmark-only: apt-get install libgd-securityimage-perl fonts-dejavu-core.
# Usage: perl security_image.pl OUT_FOLDER N SEED  -> OUT_FOLDER/00000.png ... and OUT_FOLDER/labels.csv
use strict;
use warnings;
use GD::SecurityImage;

my ($out, $n, $seed) = @ARGV;
my $font = $ENV{SECURITY_IMAGE_FONT} || '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
die "no font at $font\n" unless -f $font;
srand($seed);
my %styles = (
    ec      => { lines => 16, bgcolor => [0, 0, 0], text_color => [84, 207, 112], line_color => [0, 0, 0],
                 particle => 1000 },
    ellipse => { lines => 15, bgcolor => [208, 202, 206], text_color => [184, 20, 180],
                 line_color => [184, 20, 180], particle => 2000 },
    circle  => { lines => 40, bgcolor => [210, 215, 196], text_color => [63, 143, 167],
                 line_color => [210, 215, 196], particle => 3500 },
    box     => { lines => 6, text_color => [245, 240, 220], line_color => [115, 115, 115], particle => 3000,
                 dots => 2 },
    rect    => { lines => 30, text_color => [63, 143, 167], line_color => [226, 223, 169], particle => 2000 },
    default => { lines => 10, text_color => [68, 150, 125], line_color => [255, 0, 0], particle => 5000 },
);
my @names = sort keys %styles;
open(my $labels, '>', "$out/labels.csv") or die "$out/labels.csv: $!\n";
print $labels "filename,label\n";
for my $i (0 .. $n - 1) {
    my $name = $names[int rand @names];
    my $s = $styles{$name};
    my $image = GD::SecurityImage->new(width => 220, height => 90, send_ctobg => 1, font => $font, ptsize => 30,
                                       lines => $s->{lines}, ($s->{bgcolor} ? (bgcolor => $s->{bgcolor}) : ()));
    $image->random;
    $image->create(ttf => $name, $s->{text_color}, $s->{line_color});
    $image->particle($s->{dots} ? ($s->{particle}, $s->{dots}) : ($s->{particle}));
    my ($data, $mime, $code) = $image->out(force => 'png');
    my $file = sprintf('%05d.png', $i);
    open(my $fh, '>:raw', "$out/$file") or die "$out/$file: $!\n";
    print $fh $data;
    close $fh;
    print $labels "$file,$code\n";
}
close $labels;
