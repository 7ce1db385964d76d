// The tutorials' CNNs, each a ConvNet with its tutorial's shape and a class name of its own (so
// the printout and errors say "BrainTumorCNN", not "ConvNet"):
//   SimpleCNN      the cheat sheet's conv(8) -> ReLU -> pool -> fc1, for 28x28 images
//   MNISTCNN       the MNIST challenge's two blocks (32, 64) -> fc1(128) -> fc2
//   ExamModel      the exam's binary model: conv(32, 3x3 "valid") -> ReLU -> pool -> fc1(64) ->
//   fc2(1) -> sigmoid BrainTumorCNN  five conv-bn-ReLU-pool blocks (32..512) -> fc1(256) ->
//   dropout(0.5) -> fc2
#pragma once

#include "greymatter/models/conv_net.h"

namespace greymatter::models {

struct SimpleCNNOptions {
  int64_t in_channels = 1;
  int64_t num_classes = 10;
  int64_t image_size = 28;
  int64_t channels = 8;
};

struct MNISTCNNOptions {
  int64_t in_channels = 1;
  int64_t num_classes = 10;
  std::vector<int64_t> channels = {32, 64};
  bool batch_norm = false;
  int64_t hidden = 128;
  double dropout = 0.0;
  int64_t image_size = 28;
};

struct ExamModelOptions {
  int64_t in_channels = 3;
  int64_t image_size = 200;
  int64_t channels = 32;
  int64_t hidden = 64;
  bool sigmoid = true;  // false: return the logit (for BCE-with-logits losses)
};

struct BrainTumorCNNOptions {
  int64_t in_channels = 3;
  int64_t num_classes = 4;
  int64_t image_size = 128;  // any multiple of 32
  std::vector<int64_t> channels = {32, 64, 128, 256, 512};
  int64_t hidden = 256;
  double dropout = 0.5;
};

class SimpleCNNImpl : public ConvNetImpl {
 public:
  explicit SimpleCNNImpl(const SimpleCNNOptions& o = {});
};
TORCH_MODULE(SimpleCNN);

class MNISTCNNImpl : public ConvNetImpl {
 public:
  explicit MNISTCNNImpl(const MNISTCNNOptions& o = {});
};
TORCH_MODULE(MNISTCNN);

class ExamModelImpl : public ConvNetImpl {
 public:
  explicit ExamModelImpl(const ExamModelOptions& o = {});
};
TORCH_MODULE(ExamModel);

class BrainTumorCNNImpl : public ConvNetImpl {
 public:
  explicit BrainTumorCNNImpl(const BrainTumorCNNOptions& o = {});
};
TORCH_MODULE(BrainTumorCNN);

}  // namespace greymatter::models
