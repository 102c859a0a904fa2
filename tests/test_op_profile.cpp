// util/op_profile.h: operator counts and marked parts under LibTorch's profiler.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dkd/util/op_profile.h"

namespace {

TEST(OpProfile, CountsTopLevelOperatorsPerRunAndAttributesThemToParts) {
  const auto x = torch::ones({4, 4});
  const auto w = torch::ones({1, 1, 3, 3});
  const auto image = torch::ones({1, 1, 8, 8});
  const dkd::OpProfile p = dkd::profile_ops(
      [&] {
        torch::InferenceMode guard;
        {
          DKD_PROFILE_SCOPE("adds");
          auto y = x.add(1.0);
          y = y.add(2.0);
          y = y.add(3.0);
        }
        {
          DKD_PROFILE_SCOPE("conv");
          auto z = torch::conv2d(image, w);  // one top-level operator, several dispatches inside
        }
      },
      /*runs=*/4, /*warmup=*/1);
  EXPECT_EQ(p.runs, 4);
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(p.parts[0].name, "adds");
  EXPECT_DOUBLE_EQ(p.parts[0].operators, 3.0);
  EXPECT_EQ(p.parts[1].name, "conv");
  EXPECT_DOUBLE_EQ(p.parts[1].operators, 1.0);
  EXPECT_GT(p.parts[1].dispatches, 1.0);
  EXPECT_DOUBLE_EQ(p.operators, 4.0);
  bool found_add = false;
  for (const auto& op : p.ops) {
    if (op.name == "aten::add") {
      found_add = true;
      EXPECT_EQ(op.part, "adds");
      EXPECT_DOUBLE_EQ(op.calls, 3.0);
    }
  }
  EXPECT_TRUE(found_add);
  EXPECT_GT(p.allocations, 0.0);
  EXPECT_GE(p.wall_us, p.operator_us);
  const std::string text = dkd::format_op_profile("toy", p);
  EXPECT_NE(text.find("| adds | "), std::string::npos) << text;
  EXPECT_NE(text.find("| aten::add | adds | 3 |"), std::string::npos) << text;
}

TEST(OpProfile, AScopeCostsNothingVisibleWithoutAProfiler) {
  // No profiler: the scope is a flag test, and the work inside runs as usual.
  torch::Tensor y;
  {
    DKD_PROFILE_SCOPE("outside");
    y = torch::ones({2}).add(1.0);
  }
  EXPECT_TRUE(torch::equal(y, torch::full({2}, 2.0f)));
}

}  // namespace
