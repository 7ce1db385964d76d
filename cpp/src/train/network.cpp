// greymatter's C++ models as Engine Networks: calls straight through to the torch::nn::Module.
#include "greymatter/train/network.h"

#include "greymatter/errors.h"
#include "greymatter/models/transfer_classifier.h"

namespace greymatter::train {
namespace {

class ModelNetwork : public Network, public FeatureSplit {
 public:
  explicit ModelNetwork(std::shared_ptr<models::ModelImpl> model)
      : model_(std::move(model)),
        transfer_(dynamic_cast<models::TransferClassifierImpl*>(model_.get())) {}

  torch::Tensor forward(const torch::Tensor& x) override { return model_->forward(x); }
  void train(bool on) override { model_->train(on); }
  std::vector<torch::Tensor> parameters() override { return model_->parameters(); }
  int64_t macs_per_sample(const std::vector<int64_t>&) override {
    return model_->macs_per_sample();
  }
  void to(torch::Device device) override { model_->to(device); }
  std::string name() const override { return model_->name(); }
  FeatureSplit* feature_split() override { return transfer_ ? this : nullptr; }

  bool frozen() const override { return transfer_->frozen(); }
  torch::Tensor forward_features(const torch::Tensor& x) override {
    return transfer_->forward_features(x);
  }
  torch::Tensor forward_head(const torch::Tensor& f) override { return transfer_->forward_head(f); }
  int64_t feature_dim() const override { return transfer_->feature_dim(); }

 private:
  std::shared_ptr<models::ModelImpl> model_;
  models::TransferClassifierImpl* transfer_;  // model_ itself when it is one, else nullptr
};

}  // namespace

std::shared_ptr<Network> model_network(std::shared_ptr<models::ModelImpl> model) {
  if (!model) throw ConfigError("Engine needs a model");
  return std::make_shared<ModelNetwork>(std::move(model));
}

}  // namespace greymatter::train
