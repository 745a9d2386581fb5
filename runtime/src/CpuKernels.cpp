//===- CpuKernels.cpp - The CPU backend's kernels, registered by name -----===//
//
// Each binder decodes an instruction's attributes once, when the executor
// binds it, and returns a closure that only forwards views to the CPU
// kernel. Names and attributes here are the contract with
// lib/Target/Executable/InstructionEncoding.cpp.
//
//===----------------------------------------------------------------------===//
#include "backends/cpu/CpuKernels.h"
#include "accel/runtime/Communicator.h"
#include "accel/runtime/KernelRegistry.h"

#include <cstring>
#include <map>

namespace accel::rt {

namespace {
using cpu::BinaryKind;
using cpu::CompareKind;
using cpu::ReduceKind;
using cpu::UnaryKind;
using Views = std::vector<TensorView>;

/// A view of `v` with the shape given (same bytes).
TensorView reshaped(const TensorView &v, Shape shape) {
  TensorView r = v;
  r.shape = std::move(shape);
  return r;
}

const std::map<std::string, BinaryKind> kBinary = {
    {"add", BinaryKind::Add}, {"sub", BinaryKind::Sub},
    {"mul", BinaryKind::Mul}, {"div", BinaryKind::Div},
    {"pow", BinaryKind::Pow}, {"max", BinaryKind::Max},
    {"min", BinaryKind::Min}};
const std::map<std::string, UnaryKind> kUnary = {
    {"neg", UnaryKind::Neg},
    {"abs", UnaryKind::Abs},
    {"exp", UnaryKind::Exp},
    {"log", UnaryKind::Log},
    {"sqrt", UnaryKind::Sqrt},
    {"rsqrt", UnaryKind::Rsqrt},
    {"reciprocal", UnaryKind::Reciprocal},
    {"tanh", UnaryKind::Tanh},
    {"erf", UnaryKind::Erf},
    {"relu", UnaryKind::Relu},
    {"sigmoid", UnaryKind::Sigmoid},
    {"silu", UnaryKind::Silu},
    {"sin", UnaryKind::Sin},
    {"cos", UnaryKind::Cos},
    {"floor", UnaryKind::Floor},
    {"ceil", UnaryKind::Ceil},
    {"not", UnaryKind::Not}};
const std::map<std::string, CompareKind> kCompare = {
    {"eq", CompareKind::Eq}, {"ne", CompareKind::Ne}, {"lt", CompareKind::Lt},
    {"le", CompareKind::Le}, {"gt", CompareKind::Gt}, {"ge", CompareKind::Ge}};
const std::map<std::string, ReduceKind> kReduce = {
    {"reduce_sum", ReduceKind::Sum},
    {"reduce_mean", ReduceKind::Mean},
    {"reduce_max", ReduceKind::Max},
    {"reduce_min", ReduceKind::Min}};

const std::map<std::string, cpu::LrScheduleKind> kSchedule = {
    {"constant", cpu::LrScheduleKind::Constant},
    {"constant_with_warmup", cpu::LrScheduleKind::ConstantWithWarmup},
    {"linear", cpu::LrScheduleKind::Linear},
    {"cosine", cpu::LrScheduleKind::Cosine}};

template <typename Map>
typename Map::mapped_type lookup(const Map &map, const std::string &key,
                                 const char *what) {
  auto it = map.find(key);
  if (it == map.end())
    throw Error(std::string("unknown ") + what + " '" + key + "'");
  return it->second;
}
} // namespace

void registerCpuKernels(KernelRegistry &registry) {
  for (const auto &[name, kind] : kBinary)
    registry.add(name, [kind = kind](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      expectArity(inst, 2, 1);
      return [kind = kind](const Views &o, const Views &r, KernelContext &c) {
        cpu::binary(kind, o[0], o[1], r[0], c.pool);
      };
    });
  for (const auto &[name, kind] : kUnary)
    registry.add(name, [kind = kind](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      expectArity(inst, 1, 1);
      return [kind = kind](const Views &o, const Views &r, KernelContext &c) {
        cpu::unary(kind, o[0], r[0], c.pool);
      };
    });
  for (const auto &[name, kind] : kReduce)
    registry.add(name, [kind = kind](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      expectArity(inst, 1, 1);
      std::vector<int64_t> axes = attrs.ints("axes");
      return [kind = kind, axes](const Views &o, const Views &r,
                                 KernelContext &c) {
        // The kernel writes the keep-dims form; the result's bytes are the
        // same.
        Shape kept = o[0].shape;
        for (int64_t a : axes) {
          if (a < 0 || a >= o[0].rank())
            throw Error("reduction axis " + std::to_string(a) +
                        " is out of range for rank " +
                        std::to_string(o[0].rank()));
          kept[a] = 1;
        }
        cpu::reduce(kind, o[0], reshaped(r[0], kept), axes, c.pool);
      };
    });
  registry.add("gelu", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 1, 1);
    std::string approx = attrs.str("approximate");
    if (approx != "none" && approx != "tanh")
      throw Error("unknown gelu approximation '" + approx + "'");
    UnaryKind kind =
        approx == "tanh" ? UnaryKind::GeluTanh : UnaryKind::GeluErf;
    return [kind](const Views &o, const Views &r, KernelContext &c) {
      cpu::unary(kind, o[0], r[0], c.pool);
    };
  });
  registry.add("compare", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 2, 1);
    CompareKind kind = lookup(kCompare, attrs.str("direction"), "comparison");
    return [kind](const Views &o, const Views &r, KernelContext &c) {
      cpu::compare(kind, o[0], o[1], r[0], c.pool);
    };
  });
  registry.add("where", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 3, 1);
    return [](const Views &o, const Views &r, KernelContext &c) {
      cpu::where(o[0], o[1], o[2], r[0], c.pool);
    };
  });
  for (const char *name : {"cast", "copy", "broadcast"})
    registry.add(name, [](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      expectArity(inst, 1, 1);
      if (kernel == "cast")
        return [](const Views &o, const Views &r, KernelContext &c) {
          cpu::cast(o[0], r[0], c.pool);
        };
      if (kernel == "copy")
        return [](const Views &o, const Views &r, KernelContext &c) {
          cpu::copy(reshaped(o[0], r[0].shape), r[0], c.pool);
        };
      return [](const Views &o, const Views &r, KernelContext &c) {
        cpu::broadcastTo(o[0], r[0], c.pool);
      };
    });
  registry.add("dropout", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 2, 1, /*optional step*/ {1});
    float ratio = static_cast<float>(attrs.number("ratio"));
    uint64_t seed = static_cast<uint64_t>(attrs.integer("seed"));
    // A block of a tensor split over a group draws its block of the mask.
    Communicator *split = nullptr;
    if (std::optional<std::string> group = attrs.optionalStr("split_group")) {
      auto it = groups.find(*group);
      if (it == groups.end() || !it->second)
        throw Error("dropout needs the communicator of group '" + *group +
                    "', and this run has none");
      split = it->second;
    }
    return
        [ratio, seed, split](const Views &o, const Views &r, KernelContext &c) {
          // A step (optional) selects a fresh stream per training step.
          uint64_t step =
              o[1].data ? static_cast<uint64_t>(o[1].as<int64_t>()[0]) : 0;
          uint64_t offset = split ? static_cast<uint64_t>(split->rank()) *
                                        static_cast<uint64_t>(r[0].numel())
                                  : 0;
          cpu::dropout(o[0], r[0], ratio, cpu::dropoutStreamSeed(seed, step),
                       c.pool, offset);
        };
  });
  registry.add("matmul", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 2, 1);
    bool ta = attrs.integer("transpose_lhs"),
         tb = attrs.integer("transpose_rhs");
    return [ta, tb](const Views &o, const Views &r, KernelContext &c) {
      cpu::matmul(o[0], o[1], r[0], ta, tb, c.pool);
    };
  });
  registry.add("linear", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 3, 1, /*optional bias*/ {2});
    bool inOut = attrs.integer("weight_in_out");
    return [inOut](const Views &o, const Views &r, KernelContext &c) {
      cpu::linear(o[0], o[1], o[2], r[0], inOut, c.pool);
    };
  });
  registry.add("attention", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 4, 1, /*optional mask*/ {3});
    bool causal = attrs.integer("causal");
    float scale = static_cast<float>(attrs.number("scale"));
    return [causal, scale](const Views &o, const Views &r, KernelContext &c) {
      cpu::attention(o[0], o[1], o[2], o[3], r[0], causal, scale, c.pool);
    };
  });
  registry.add("attention_grad", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 5, 3, /*optional mask*/ {4});
    bool causal = attrs.integer("causal");
    float scale = static_cast<float>(attrs.number("scale"));
    return [causal, scale](const Views &o, const Views &r, KernelContext &c) {
      cpu::attentionGrad(o[0], o[1], o[2], o[3], o[4], r[0], r[1], r[2], causal,
                         scale, c.pool);
    };
  });
  for (const char *name : {"softmax", "log_softmax"})
    registry.add(name, [](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      expectArity(inst, 1, 1);
      int64_t axis = attrs.integer("axis");
      bool log = kernel == "log_softmax";
      return [axis, log](const Views &o, const Views &r, KernelContext &c) {
        cpu::softmax(o[0], r[0], axis, log, c.pool);
      };
    });
  registry.add("layer_norm", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 3, 1, /*optional scale, bias*/ {1, 2});
    int64_t axis = attrs.integer("axis");
    float eps = static_cast<float>(attrs.number("epsilon"));
    return [axis, eps](const Views &o, const Views &r, KernelContext &c) {
      cpu::layerNorm(o[0], o[1], o[2], r[0], o[0].rank() - axis, eps, c.pool);
    };
  });
  registry.add("rms_norm", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 2, 1, /*optional scale*/ {1});
    int64_t axis = attrs.integer("axis");
    float eps = static_cast<float>(attrs.number("epsilon"));
    return [axis, eps](const Views &o, const Views &r, KernelContext &c) {
      cpu::rmsNorm(o[0], o[1], r[0], o[0].rank() - axis, eps, c.pool);
    };
  });
  registry.add("transpose", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 1, 1);
    std::vector<int64_t> perm = attrs.ints("permutation");
    return [perm](const Views &o, const Views &r, KernelContext &c) {
      cpu::transpose(o[0], r[0], perm, c.pool);
    };
  });
  registry.add("slice", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 1, 1);
    std::vector<int64_t> start = attrs.ints("start"),
                         stride = attrs.ints("stride");
    return [start, stride](const Views &o, const Views &r, KernelContext &c) {
      cpu::slice(o[0], r[0], start, stride, c.pool);
    };
  });
  registry.add("split", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 1, inst.results() ? inst.results()->size() : 0);
    if (!inst.results() || inst.results()->size() == 0)
      throw Error("split needs at least one result");
    int64_t axis = attrs.integer("axis");
    return [axis](const Views &o, const Views &r, KernelContext &c) {
      std::vector<int64_t> start(o[0].rank(), 0), stride(o[0].rank(), 1);
      for (const TensorView &piece : r) {
        cpu::slice(o[0], piece, start, stride, c.pool);
        start[axis] += piece.shape[axis];
      }
    };
  });
  registry.add("concat", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, operandCount(inst), 1);
    if (!inst.operands() || inst.operands()->size() == 0)
      throw Error("concat needs at least one operand");
    int64_t axis = attrs.integer("axis");
    return [axis](const Views &o, const Views &r, KernelContext &c) {
      cpu::concat(o, r[0], axis, c.pool);
    };
  });
  registry.add("gather", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 2, 1);
    int64_t axis = attrs.integer("axis");
    return [axis](const Views &o, const Views &r, KernelContext &c) {
      cpu::gather(o[0], o[1], r[0], axis, c.pool);
    };
  });
  registry.add("cumsum", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 1, 1);
    int64_t axis = attrs.integer("axis");
    bool exclusive = attrs.integer("exclusive"),
         reverse = attrs.integer("reverse");
    return [=](const Views &o, const Views &r, KernelContext &c) {
      cpu::cumsum(o[0], r[0], axis, exclusive, reverse, c.pool);
    };
  });
  registry.add("scatter_add", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    bool init = operandCount(inst) == 3; // the tensor added into
    expectArity(inst, init ? 3 : 2, 1);
    int64_t axis = attrs.integer("axis");
    std::optional<int64_t> skip = attrs.optionalInteger("skip_index");
    return [=](const Views &o, const Views &r, KernelContext &c) {
      cpu::scatterAdd(o[0], o[1], r[0], axis, c.pool, skip,
                      init ? &o[2] : nullptr);
    };
  });
  for (const char *name : {"cross_entropy", "cross_entropy_grad"})
    registry.add(name, [](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      // An optional last operand is the count to divide by.
      bool grad = kernel == "cross_entropy_grad";
      size_t fixed = grad ? 3 : 2;
      bool counted = operandCount(inst) == fixed + 1;
      expectArity(inst, counted ? fixed + 1 : fixed, 1);
      int64_t ignore = attrs.integer("ignore_index");
      double smoothing = attrs.number("label_smoothing");
      if (grad)
        return [=](const Views &o, const Views &r, KernelContext &c) {
          cpu::crossEntropyGrad(o[0], o[1], o[2], counted ? &o[3] : nullptr,
                                r[0], ignore, smoothing, c.pool);
        };
      return [=](const Views &o, const Views &r, KernelContext &c) {
        cpu::crossEntropy(o[0], o[1], counted ? &o[2] : nullptr, r[0], ignore,
                          smoothing, c.pool);
      };
    });
  registry.add(
      "linear_cross_entropy", [](const KernelSite &site) -> BoundKernel {
        [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
        bool counted = attrs.integer("has_count");
        bool scaled = attrs.integer("has_cotangent");
        expectArity(inst, 3 + counted + scaled, 3);
        int64_t ignore = attrs.integer("ignore_index");
        double smoothing = attrs.number("label_smoothing");
        bool inOut = attrs.integer("weight_in_out");
        return [=](const Views &o, const Views &r, KernelContext &c) {
          cpu::linearCrossEntropy(o[0], o[1], o[2], counted ? &o[3] : nullptr,
                                  scaled ? &o[3 + counted] : nullptr, r[0],
                                  r[1], r[2], ignore, smoothing, inOut, c.pool);
        };
      });
  registry.add("global_norm", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, operandCount(inst), 1);
    return [](const Views &o, const Views &r, KernelContext &c) {
      cpu::globalNorm(o, r[0], c.pool);
    };
  });
  registry.add("unscale_gradients", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    size_t grads = operandCount(inst) - 1;
    expectArity(inst, grads + 1, grads + 1);
    return [](const Views &o, const Views &r, KernelContext &c) {
      cpu::unscaleGradients(o[0], Views(o.begin() + 1, o.end()), r[0],
                            Views(r.begin() + 1, r.end()), c.pool);
    };
  });
  registry.add("update_loss_scale", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 3, 2);
    cpu::LossScaleConfig config{attrs.number("growth_factor"),
                                attrs.number("backoff_factor"),
                                attrs.integer("growth_interval")};
    return [config](const Views &o, const Views &r, KernelContext &) {
      cpu::updateLossScale(o[0], o[1], o[2], r[0], r[1], config);
    };
  });
  registry.add("lr_schedule", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 1, 1);
    cpu::LrScheduleKind kind =
        lookup(kSchedule, attrs.str("schedule"), "learning-rate schedule");
    double lr = attrs.number("lr"), cycles = attrs.number("num_cycles");
    int64_t warmup = attrs.integer("warmup_steps");
    int64_t total = attrs.integer("total_steps");
    return [=](const Views &o, const Views &r, KernelContext &) {
      cpu::lrSchedule(o[0], r[0], kind, lr, warmup, total, cycles);
    };
  });
  registry.add("adamw", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    expectArity(inst, 8, 3, /*optional grad scale, skip*/ {6, 7});
    cpu::AdamWConfig config{attrs.number("beta1"), attrs.number("beta2"),
                            attrs.number("epsilon"),
                            attrs.number("weight_decay")};
    return [config](const Views &o, const Views &r, KernelContext &c) {
      cpu::adamw({o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]},
                 {r[0], r[1], r[2]}, config, c.pool);
    };
  });
  registry.add("sgd", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    size_t results = inst.results() ? inst.results()->size() : 0;
    expectArity(inst, 7, results == 2 ? 2 : 1,
                /*optional buffer, grad scale, skip*/ {2, 5, 6});
    cpu::SgdConfig config{attrs.number("momentum"), attrs.number("dampening"),
                          attrs.number("weight_decay"),
                          attrs.integer("nesterov") != 0};
    return [config](const Views &o, const Views &r, KernelContext &c) {
      cpu::sgd({o[0], o[1], o[2], o[3], o[4], o[5], o[6]},
               {r[0], r.size() == 2 ? r[1] : TensorView{}}, config, c.pool);
    };
  });
}

} // namespace accel::rt
