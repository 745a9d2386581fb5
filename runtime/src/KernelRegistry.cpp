//===- KernelRegistry.cpp - Kernel names to bound kernels, per backend ----===//
#include "accel/runtime/KernelRegistry.h"

#include <algorithm>

#include <mutex>

namespace accel::rt {

std::vector<int64_t> KernelAttrs::ints(const char *name) const {
  const fb::Attr *a = find(name);
  if (!a->ints())
    throw Error(std::string("attribute '") + name + "' holds no integers");
  return {a->ints()->begin(), a->ints()->end()};
}

int64_t KernelAttrs::integer(const char *name) const {
  std::vector<int64_t> v = ints(name);
  if (v.size() != 1)
    throw Error(std::string("attribute '") + name + "' must be one integer");
  return v[0];
}

std::optional<int64_t> KernelAttrs::optionalInteger(const char *name) const {
  if (!lookup(name))
    return std::nullopt;
  return integer(name);
}

double KernelAttrs::number(const char *name) const {
  const fb::Attr *a = find(name);
  if (!a->floats() || a->floats()->size() != 1)
    throw Error(std::string("attribute '") + name + "' must be one number");
  return a->floats()->Get(0);
}

std::optional<std::string> KernelAttrs::optionalStr(const char *name) const {
  if (!lookup(name))
    return std::nullopt;
  return str(name);
}

std::string KernelAttrs::str(const char *name) const {
  const fb::Attr *a = find(name);
  if (!a->str())
    throw Error(std::string("attribute '") + name + "' holds no string");
  return a->str()->str();
}

const fb::Attr *KernelAttrs::lookup(const char *name) const {
  if (inst.attrs())
    for (const fb::Attr *a : *inst.attrs())
      if (a->name() && a->name()->str() == name)
        return a;
  return nullptr;
}

const fb::Attr *KernelAttrs::find(const char *name) const {
  if (const fb::Attr *a = lookup(name))
    return a;
  throw Error(std::string("missing attribute '") + name + "'");
}

size_t operandCount(const fb::Instruction &inst) {
  return inst.operands() ? inst.operands()->size() : 0;
}

void expectArity(const fb::Instruction &inst, size_t operands, size_t results,
                 std::initializer_list<size_t> optional) {
  size_t haveOps = operandCount(inst);
  size_t haveRes = inst.results() ? inst.results()->size() : 0;
  if (haveOps != operands || haveRes != results)
    throw Error("expects " + std::to_string(operands) + " operands and " +
                std::to_string(results) + " results, has " +
                std::to_string(haveOps) + " and " + std::to_string(haveRes));
  for (size_t i = 0; i < haveOps; ++i)
    if (inst.operands()->Get(i) < 0 &&
        std::find(optional.begin(), optional.end(), i) == optional.end())
      throw Error("operand " + std::to_string(i) +
                  " is absent, and the kernel needs it");
}

void KernelRegistry::add(const std::string &name, KernelBinder binder) {
  if (!binders.emplace(name, std::move(binder)).second)
    throw Error("kernel '" + name + "' is registered twice");
}

BoundKernel KernelRegistry::bind(const fb::Instruction &inst,
                                 const CommGroups &groups) const {
  const std::string kernel = inst.kernel() ? inst.kernel()->str() : "";
  auto it = binders.find(kernel);
  if (it == binders.end())
    throw Error("unknown kernel '" + kernel + "'");
  KernelAttrs attrs(inst);
  return it->second(KernelSite{kernel, inst, attrs, groups});
}

const KernelRegistry &kernelRegistry(DeviceKind kind) {
  if (kind != DeviceKind::Cpu)
    throw Error("this build has no CUDA backend");
  static const KernelRegistry cpu = [] {
    KernelRegistry registry;
    registerCpuKernels(registry);
    registerCollectiveKernels(registry);
    return registry;
  }();
  return cpu;
}

BoundKernel bindKernel(const fb::Instruction &instruction,
                       const CommGroups &groups, DeviceKind kind) {
  return kernelRegistry(kind).bind(instruction, groups);
}

} // namespace accel::rt
