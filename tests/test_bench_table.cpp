// The pieces the benchmarks share: the timing summary (util/bench_timer.h) and
// the table model written as text, Markdown and JSON (eval/table.h).
#include <gtest/gtest.h>

#include "dkd/eval/table.h"
#include "dkd/util/bench_timer.h"
#include "dkd/util/error.h"
#include "dkd/util/strings.h"

namespace dkd {
namespace {

TEST(BenchTimer, SummarisesTheTimedRunsAndSkipsTheWarmUp) {
  Timings t;
  t.ms = {4.0, 1.0, 3.0, 2.0};
  EXPECT_DOUBLE_EQ(t.median(), 3.0);  // the upper median of an even count
  EXPECT_DOUBLE_EQ(t.mean(), 2.5);
  EXPECT_DOUBLE_EQ(t.min(), 1.0);
  EXPECT_DOUBLE_EQ(Timings{}.median(), 0.0);

  std::vector<int> order;
  const auto rr = time_round_robin(2, 3, {[&] { order.push_back(0); }, [&] { order.push_back(1); }});
  ASSERT_EQ(rr.size(), 2u);
  EXPECT_EQ(rr[0].ms.size(), 3u);
  EXPECT_EQ(rr[1].ms.size(), 3u);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}));
  int calls = 0;
  EXPECT_EQ(time_runs(1, 4, [&] { ++calls; }).ms.size(), 4u);
  EXPECT_EQ(calls, 5);
}

Table sample_table() {
  Table t;
  t.title = "Speed";
  t.columns = {{"model", "model", "name", -8},
               {"ms", "ms/frame", "ms_per_frame", 6, 2},
               {"", "", "streams"},
               {"share", "share of rate", "share", 6, 0, 100.0, "%"}};
  t.rows = {{"a", 1.234, 1, 0.42}, {"b", 10.0, 1, 1.0}};
  return t;
}

TEST(Table, WritesOneModelAsTextMarkdownAndJson) {
  const Table t = sample_table();
  EXPECT_EQ(table_to_text(t),
            "Speed\n"
            "model        ms  share\n"
            "a          1.23    42%\n"
            "b         10.00   100%\n");
  EXPECT_EQ(table_to_markdown(t),
            "Speed\n\n"
            "| model | ms/frame | share of rate |\n"
            "|---|---|---|\n"
            "| a | 1.23 | 42% |\n"
            "| b | 10.00 | 100% |\n");
  const nlohmann::json j = table_to_json(t);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].at("name"), "a");
  EXPECT_DOUBLE_EQ(j[0].at("share").get<double>(), 0.42);  // the value, not the shown percent
  EXPECT_TRUE(j[0].at("streams").is_number_integer());
}

TEST(Table, ARowWithTheWrongNumberOfCellsIsAnError) {
  Table t = sample_table();
  t.rows.push_back({"c", 1.0});
  EXPECT_THROW(table_to_text(t), Error);
}

TEST(Strings, SplitListKeepsEveryField) {
  EXPECT_EQ(split_list("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split_list("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(split_list("x:y:", ':'), (std::vector<std::string>{"x", "y", ""}));
}

}  // namespace
}  // namespace dkd
