// The tutorials' CNNs as ConvNet options (see cnns.h).
#include "greymatter/models/cnns.h"

namespace greymatter::models {
namespace {

ConvNetOptions simple_cnn(const SimpleCNNOptions& o) {
  ConvNetOptions c;
  c.name = "SimpleCNN";
  c.in_channels = o.in_channels;
  c.num_classes = o.num_classes;
  c.image_size = o.image_size;
  c.channels = {o.channels};
  return c;
}

ConvNetOptions mnist_cnn(const MNISTCNNOptions& o) {
  ConvNetOptions c;
  c.name = "MNISTCNN";
  c.in_channels = o.in_channels;
  c.num_classes = o.num_classes;
  c.channels = o.channels;
  c.batch_norm = o.batch_norm;
  c.hidden = o.hidden;
  c.dropout = o.dropout;
  c.image_size = o.image_size;
  return c;
}

ConvNetOptions exam_model(const ExamModelOptions& o) {
  ConvNetOptions c;
  c.name = "ExamModel";
  c.in_channels = o.in_channels;
  c.image_size = o.image_size;
  c.channels = {o.channels};
  c.padding = 0;
  c.hidden = o.hidden;
  c.num_classes = 1;
  c.sigmoid = o.sigmoid;
  return c;
}

ConvNetOptions brain_tumor_cnn(const BrainTumorCNNOptions& o) {
  ConvNetOptions c;
  c.name = "BrainTumorCNN";
  c.in_channels = o.in_channels;
  c.num_classes = o.num_classes;
  c.image_size = o.image_size;
  c.channels = o.channels;
  c.batch_norm = true;
  c.hidden = o.hidden;
  c.dropout = o.dropout;
  c.size_multiple =
      int64_t{1} << std::min<size_t>(o.channels.size(), 30);  // every block halves the size exactly
  return c;
}

}  // namespace

SimpleCNNImpl::SimpleCNNImpl(const SimpleCNNOptions& o) : ConvNetImpl(simple_cnn(o)) {}
MNISTCNNImpl::MNISTCNNImpl(const MNISTCNNOptions& o) : ConvNetImpl(mnist_cnn(o)) {}
ExamModelImpl::ExamModelImpl(const ExamModelOptions& o) : ConvNetImpl(exam_model(o)) {}
BrainTumorCNNImpl::BrainTumorCNNImpl(const BrainTumorCNNOptions& o)
    : ConvNetImpl(brain_tumor_cnn(o)) {}

}  // namespace greymatter::models
