// Fuzz harness: one image file as the image folder loads it: decode_image (JPEG, PNG, BMP
// through stb_image, with the header and size checks in front of it), then image_to_input
// (resize, crop, mirror, normalize) in both the training (augmented) and evaluation forms.
// decode_image must return false with a reason on a bad file; it never throws.
#include <vector>

#include "harness.h"
#include "winoprune/data/dataset.h"
#include "winoprune/data/image.h"
#include "winoprune/rng.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return wp::fuzz::run_one([&] {
    wp::DataConfig config;
    config.resize = 40;              // small sizes keep an iteration fast; the code is the same
    config.crop = 32;
    config.augment.random_crop = true;
    config.augment.mirror = true;
    config.augment.pad = 4;
    for (int channels : {1, 3}) {
      config.color = channels == 1 ? "gray" : "rgb";
      config.mean.assign(size_t(channels), 100.0f);
      config.std.assign(size_t(channels), 50.0f);
      wp::Image8 image;
      std::string reason;
      if (!wp::decode_image(data, size, channels, image, reason)) {
        if (reason.empty()) std::abort();   // a rejection must say why
        return;
      }
      std::vector<float> out(size_t(channels) * config.crop * config.crop);
      wp::Rng rng(uint64_t(size), 1);
      for (bool augment : {false, true})
        wp::image_to_input(image, config, augment, rng, {}, 0, out.data());
    }
  });
}
