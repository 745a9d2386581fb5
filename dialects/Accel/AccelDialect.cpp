//===- AccelDialect.cpp - Dialect registration and constants -------------===//
#include "dialects/Accel/AccelDialect.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace accel;

#include "dialects/Accel/AccelDialect.cpp.inc"
#include "dialects/Accel/AccelEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/Accel/AccelAttrs.cpp.inc"

void AccelDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Accel/AccelAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Accel/AccelOps.cpp.inc"
      >();
}

Operation *AccelDialect::materializeConstant(OpBuilder &builder,
                                             Attribute value, Type type,
                                             Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, type, elements);
}
