#pragma once
// Constructors of the concrete datasets, called by open_dataset (dataset.cpp).
#include <memory>

#include "winoprune/data/dataset.h"

namespace wp {

std::unique_ptr<Dataset> open_fashion_mnist(const DataConfig& config, Split split,
                                            WarningSink sink);
std::unique_ptr<Dataset> open_image_folder(const DataConfig& config, Split split,
                                           WarningSink sink);

}  // namespace wp
