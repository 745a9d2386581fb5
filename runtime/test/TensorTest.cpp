//===- TensorTest.cpp - Element type and shape helpers --------------------===//
#include "accel/runtime/Tensor.h"

#include <gtest/gtest.h>

using namespace accel::rt;

namespace {

TEST(Tensor, DTypeSizesAndNames) {
  struct Expect {
    DType type;
    size_t size;
    const char *name;
  };
  for (Expect e :
       {Expect{DType::F32, 4, "f32"}, Expect{DType::F64, 8, "f64"},
        Expect{DType::F16, 2, "f16"}, Expect{DType::BF16, 2, "bf16"},
        Expect{DType::I64, 8, "i64"}, Expect{DType::I32, 4, "i32"},
        Expect{DType::I16, 2, "i16"}, Expect{DType::I8, 1, "i8"},
        Expect{DType::U8, 1, "u8"}, Expect{DType::Bool, 1, "bool"}}) {
    EXPECT_EQ(dtypeSize(e.type), e.size) << e.name;
    EXPECT_STREQ(dtypeName(e.type), e.name);
    DType parsed = DType::Bool;
    ASSERT_TRUE(parseDType(e.name, parsed)) << e.name;
    EXPECT_EQ(parsed, e.type);
  }
  DType untouched = DType::I8;
  EXPECT_FALSE(parseDType("float32", untouched));
  EXPECT_FALSE(parseDType("", untouched));
  EXPECT_FALSE(parseDType("F32", untouched));
  EXPECT_EQ(untouched, DType::I8);
  EXPECT_EQ(dtypeSize(static_cast<DType>(200)), 0u);
  EXPECT_STREQ(dtypeName(static_cast<DType>(200)), "invalid");
}

TEST(Tensor, ShapeHelpers) {
  EXPECT_EQ(numElements({}), 1);
  EXPECT_EQ(numElements({7}), 7);
  EXPECT_EQ(numElements({2, 3, 4}), 24);
  EXPECT_EQ(numElements({5, 0, 3}), 0);
  EXPECT_EQ(shapeToString({}), "scalar");
  EXPECT_EQ(shapeToString({7}), "7");
  EXPECT_EQ(shapeToString({2, 3, 4}), "2x3x4");

  std::vector<float> storage(6);
  TensorView v{storage.data(), DType::F32, {2, 3}};
  EXPECT_EQ(v.rank(), 2);
  EXPECT_EQ(v.numel(), 6);
  EXPECT_EQ(v.bytes(), 24u);
  EXPECT_EQ(v.as<float>(), storage.data());
}

} // namespace
