// PyTorch-format module printouts and layer attributes (see printout.h). Each layer's "extra repr"
// follows the one in torch/nn/modules/*.py; nesting and indentation follow
// torch.nn.Module.__repr__.
#include "greymatter/models/printout.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

namespace greymatter::models {
namespace {

std::string py_bool(bool b) { return b ? "True" : "False"; }

template <size_t D>
std::string py_tuple(const torch::ExpandingArray<D>& a) {
  std::string s = "(";
  for (size_t i = 0; i < D; ++i) s += (i ? ", " : "") + std::to_string((*a)[i]);
  return s + (D == 1 ? ",)" : ")");
}

template <size_t D>
bool all_equal(const torch::ExpandingArray<D>& a, int64_t v) {
  for (size_t i = 0; i < D; ++i)
    if ((*a)[i] != v) return false;
  return true;
}

// Pooling layers print what the user passed; tutorials pass one int (MaxPool2d(2, 2)).
template <size_t D>
std::string py_int_or_tuple(const torch::ExpandingArray<D>& a) {
  return all_equal(a, (*a)[0]) ? std::to_string((*a)[0]) : py_tuple(a);
}

std::string conv_extra(const torch::nn::Conv2dImpl& c) {
  const auto& o = c.options;
  std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                  ", kernel_size=" + py_tuple(o.kernel_size()) + ", stride=" + py_tuple(o.stride());
  if (const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding())) {
    if (!all_equal(*pad, 0)) s += ", padding=" + py_tuple(*pad);
  } else {
    s += c10::get_if<torch::enumtype::kSame>(&o.padding()) ? ", padding=same" : ", padding=valid";
  }
  if (!all_equal(o.dilation(), 1)) s += ", dilation=" + py_tuple(o.dilation());
  if (o.groups() != 1) s += ", groups=" + std::to_string(o.groups());
  if (!o.bias()) s += ", bias=False";
  if (!c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    s += ", padding_mode=" + torch::enumtype::get_enum_name(o.padding_mode());
  return s;
}

// The "extra repr" of a known layer; false when `m` is not one.
bool extra_repr(const torch::nn::Module& m, std::string& name, std::string& extra) {
  using namespace torch::nn;
  if (const auto* c = dynamic_cast<const Conv2dImpl*>(&m)) {
    name = "Conv2d";
    extra = conv_extra(*c);
  } else if (const auto* bn = dynamic_cast<const BatchNorm2dImpl*>(&m)) {
    const auto& o = bn->options;
    name = "BatchNorm2d";
    extra = std::to_string(o.num_features()) + ", eps=" + python_float(o.eps()) +
            ", momentum=" + (o.momentum() ? python_float(*o.momentum()) : "None") +
            ", affine=" + py_bool(o.affine()) +
            ", track_running_stats=" + py_bool(o.track_running_stats());
  } else if (const auto* l = dynamic_cast<const LinearImpl*>(&m)) {
    name = "Linear";
    extra = "in_features=" + std::to_string(l->options.in_features()) +
            ", out_features=" + std::to_string(l->options.out_features()) +
            ", bias=" + py_bool(l->options.bias());
  } else if (const auto* r = dynamic_cast<const ReLUImpl*>(&m)) {
    name = "ReLU";
    extra = r->options.inplace() ? "inplace=True" : "";
  } else if (const auto* r6 = dynamic_cast<const ReLU6Impl*>(&m)) {
    name = "ReLU6";
    extra = r6->options.inplace() ? "inplace=True" : "";
  } else if (dynamic_cast<const SigmoidImpl*>(&m)) {
    name = "Sigmoid";
  } else if (dynamic_cast<const IdentityImpl*>(&m)) {
    name = "Identity";
  } else if (const auto* d = dynamic_cast<const DropoutImpl*>(&m)) {
    name = "Dropout";
    extra = "p=" + python_float(d->options.p()) + ", inplace=" + py_bool(d->options.inplace());
  } else if (const auto* p = dynamic_cast<const MaxPool2dImpl*>(&m)) {
    const auto& o = p->options;
    name = "MaxPool2d";
    extra = "kernel_size=" + py_int_or_tuple(o.kernel_size()) +
            ", stride=" + py_int_or_tuple(o.stride()) +
            ", padding=" + py_int_or_tuple(o.padding()) +
            ", dilation=" + py_int_or_tuple(o.dilation()) + ", ceil_mode=" + py_bool(o.ceil_mode());
  } else if (const auto* f = dynamic_cast<const FlattenImpl*>(&m)) {
    name = "Flatten";
    extra = "start_dim=" + std::to_string(f->options.start_dim()) +
            ", end_dim=" + std::to_string(f->options.end_dim());
  } else {
    return false;
  }
  return true;
}

// torch.nn.modules.module._addindent: every line but the first moves right by `spaces`.
std::string add_indent(const std::string& s, int spaces) {
  std::string out;
  for (char ch : s) {
    out += ch;
    if (ch == '\n') out.append(static_cast<size_t>(spaces), ' ');
  }
  return out;
}

template <size_t D>
std::vector<int64_t> as_vector(const torch::ExpandingArray<D>& a) {
  return std::vector<int64_t>(a->begin(), a->end());
}

// Pooling attributes are what the user passed: one int when all equal (see py_int_or_tuple).
template <size_t D>
LayerAttribute int_or_vector(const torch::ExpandingArray<D>& a) {
  if (all_equal(a, (*a)[0])) return LayerAttribute{(*a)[0]};
  return LayerAttribute{as_vector(a)};
}

}  // namespace

// "greymatter::models::MobileNetV2Impl" -> "MobileNetV2"; "torch::nn::SequentialImpl" ->
// "Sequential".
std::string class_name(const torch::nn::Module& m) {
  std::string n = m.name();
  if (auto colon = n.rfind("::"); colon != std::string::npos) n = n.substr(colon + 2);
  if (n.size() > 4 && n.compare(n.size() - 4, 4, "Impl") == 0) n.resize(n.size() - 4);
  return n;
}

std::map<std::string, LayerAttribute> layer_attributes(const torch::nn::Module& m) {
  using namespace torch::nn;
  std::map<std::string, LayerAttribute> a;
  if (const auto* c = dynamic_cast<const Conv2dImpl*>(&m)) {
    const auto& o = c->options;
    a = {{"in_channels", o.in_channels()},
         {"out_channels", o.out_channels()},
         {"kernel_size", as_vector(o.kernel_size())},
         {"stride", as_vector(o.stride())},
         {"dilation", as_vector(o.dilation())},
         {"groups", o.groups()}};
    if (const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding()))
      a["padding"] = as_vector(*pad);
  } else if (const auto* l = dynamic_cast<const LinearImpl*>(&m)) {
    a = {{"in_features", l->options.in_features()}, {"out_features", l->options.out_features()}};
  } else if (const auto* bn = dynamic_cast<const BatchNorm2dImpl*>(&m)) {
    const auto& o = bn->options;
    a = {{"num_features", o.num_features()},
         {"eps", o.eps()},
         {"affine", o.affine()},
         {"track_running_stats", o.track_running_stats()}};
    if (o.momentum()) a["momentum"] = *o.momentum();
  } else if (const auto* d = dynamic_cast<const DropoutImpl*>(&m)) {
    a = {{"p", d->options.p()}, {"inplace", d->options.inplace()}};
  } else if (const auto* r = dynamic_cast<const ReLUImpl*>(&m)) {
    a = {{"inplace", r->options.inplace()}};
  } else if (const auto* r6 = dynamic_cast<const ReLU6Impl*>(&m)) {
    a = {{"inplace", r6->options.inplace()}};
  } else if (const auto* p = dynamic_cast<const MaxPool2dImpl*>(&m)) {
    const auto& o = p->options;
    a = {{"kernel_size", int_or_vector(o.kernel_size())},
         {"stride", int_or_vector(o.stride())},
         {"padding", int_or_vector(o.padding())},
         {"dilation", int_or_vector(o.dilation())},
         {"ceil_mode", o.ceil_mode()}};
  }
  return a;
}

std::string python_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value,
                           std::chars_format::scientific);  // shortest round trip
  std::string s(buf, res.ptr);
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const auto e = s.find('e');
  const int exp = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char ch : s.substr(0, e))
    if (ch != '.') digits += ch;
  const int n = static_cast<int>(digits.size());
  std::string out;
  if (exp >= -4 && exp < 16) {  // Python's repr switches to exponent notation outside this range
    if (exp < 0) {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (n <= exp + 1) {
      out = digits + std::string(static_cast<size_t>(exp + 1 - n), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exp + 1)) + "." +
            digits.substr(static_cast<size_t>(exp + 1));
    }
  } else {
    out = digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "");
    char tail[16];
    std::snprintf(tail, sizeof(tail), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += tail;
  }
  return sign + out;
}

std::string pytorch_repr(const torch::nn::Module& module) {
  std::string name, extra;
  if (!extra_repr(module, name, extra)) name = class_name(module);
  std::vector<std::string> lines;
  if (!extra.empty()) lines.push_back(extra);
  for (const auto& child : module.named_children())
    lines.push_back("(" + child.key() + "): " + add_indent(pytorch_repr(*child.value()), 2));
  std::string out = name + "(";
  if (lines.size() == 1 && module.named_children().is_empty()) {
    out += lines[0];
  } else if (!lines.empty()) {
    out += "\n";
    for (const auto& line : lines) out += "  " + line + "\n";
  }
  return out + ")";
}

}  // namespace greymatter::models
