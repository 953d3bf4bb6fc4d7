#pragma once
// The two architectures of the AlexNet family as tables (internal to src/nn).
//   alexnet:        Caffe bvlc_alexnet, 227x227x3 input (docs/method.md section 4)
//   alexnet-small:  the same five convs and three fc for 28x28x1 (Fashion-MNIST), as the
//                   PyTorch reference net of docs/method.md section 5
#include <array>
#include <string>

namespace wp::arch {

struct ArchSpec {
  const char* name;
  std::array<int, 5> widths;          // conv1..conv5 output channels
  std::array<int, 2> fc_widths;       // fc6, fc7
  std::array<int, 5> kernel, stride, pad;
  int pool_kernel, pool_stride;       // pool1, pool2, pool5 (after conv1, conv2, conv5)
  int input_channels, input_size, classes;
  bool lrn;                           // default of the "lrn" key
  bool dropout_before_fc;             // small: drop6 fc6 relu6 drop7 fc7 ...; alexnet: fc6 relu6 drop6 ...
};

inline const ArchSpec& spec(const std::string& name) {
  static const ArchSpec alexnet{"alexnet",       {96, 256, 384, 384, 256}, {4096, 4096},
                                {11, 5, 3, 3, 3}, {4, 1, 1, 1, 1},         {0, 2, 1, 1, 1},
                                3,               2,                        3,
                                227,             1000,                     true,
                                false};
  static const ArchSpec small{"alexnet-small", {64, 128, 192, 192, 128}, {512, 512},
                              {5, 5, 3, 3, 3},  {1, 1, 1, 1, 1},          {2, 2, 1, 1, 1},
                              2,                2,                        1,
                              28,               10,                       false,
                              true};
  return name == "alexnet" ? alexnet : small;
}

// Which convs are grouped (Caffe AlexNet: conv2, conv4, conv5).
inline bool grouped(int conv_index) { return conv_index == 1 || conv_index == 3 || conv_index == 4; }

// "conv3" -> 2; -1 for anything else.
inline int conv_index(const std::string& name) {
  if (name.size() == 5 && name.compare(0, 4, "conv") == 0 && name[4] >= '1' && name[4] <= '5')
    return name[4] - '1';
  return -1;
}

}  // namespace wp::arch
