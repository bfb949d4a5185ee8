# simple_captcha2 (Ruby, the captcha plugin of many Rails sites; Debian's ruby-simple-captcha2) with its defaults,
# drawn by its own ImageHelpers: 100x28 JPEG from ImageMagick, 5 upper-case letters (its default code type) in
# dark blue on white at 22 points, a low wave and a medium implode ("simply_blue", the default style).
# Rails is not loaded: its Rails.env is stood in for, and the phrase is made as its view helper makes it.
# Benchmark-only: apt-get install ruby ruby-simple-captcha2 imagemagick.
# Usage: ruby simple_captcha.rb OUT_FOLDER N SEED  -> OUT_FOLDER/00000.jpg ... and OUT_FOLDER/labels.csv
require 'active_support'
require 'active_support/core_ext/module/attribute_accessors'
require 'active_support/core_ext/object/blank'

module Rails
  def self.env
    Struct.new(:name) { def test? = false }.new('production')
  end
end
require 'simple_captcha'

# the phrase is the key: the plugin looks its value up in the database
module SimpleCaptcha::Utils
  def self.simple_captcha_value(key) = key
end

class Drawer
  include SimpleCaptcha::ImageHelpers
  public :generate_simple_captcha_image
end

out, n, seed = ARGV[0], ARGV[1].to_i, ARGV[2].to_i
srand(seed)
# Debian's ImageMagick, whatever else is first on the PATH
SimpleCaptcha.image_magick_path = '/usr/bin'
drawer = Drawer.new
File.open(File.join(out, 'labels.csv'), 'w') do |labels|
  labels.puts 'filename,label'
  n.times do |i|
    # ViewHelper#generate_simple_captcha_data for the default code type
    text = ''
    SimpleCaptcha.length.times { text << (65 + rand(26)).chr }
    name = format('%05d.jpg', i)
    File.binwrite(File.join(out, name), drawer.generate_simple_captcha_image(text))
    labels.puts "#{name},#{text}"
  end
end
