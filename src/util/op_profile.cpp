#include "dkd/util/op_profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include <torch/csrc/autograd/profiler_legacy.h>

namespace dkd {
namespace {

namespace prof = torch::autograd::profiler;

bool is_part(const std::string& name) { return name.rfind("dkd::", 0) == 0; }

struct Open {
  std::string name;
  const prof::LegacyEvent* push;
  bool part;
  bool top_level;  ///< an operator with only parts (or nothing) above it
};

}  // namespace

OpProfile profile_ops(const std::function<void()>& fn, int runs, int warmup) {
  for (int i = 0; i < warmup; ++i) fn();
  OpProfile out;
  out.runs = std::max(1, runs);
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU,
                                                                   /*report_input_shapes=*/false,
                                                                   /*profile_memory=*/true));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < out.runs; ++i) fn();
  const auto t1 = std::chrono::steady_clock::now();
  const prof::thread_event_lists lists = prof::disableProfilerLegacy();
  const double n = out.runs;
  out.wall_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / n;

  std::map<std::string, OpStat> ops;
  std::map<std::string, PartStat> parts;
  std::vector<std::string> part_order;
  for (const auto& events : lists) {
    std::vector<Open> stack;
    for (const auto& e : events) {
      switch (e.kind()) {
        case prof::EventKind::PushRange: {
          const std::string name = e.name();
          const bool part = is_part(name);
          bool under_op = false;
          for (const auto& o : stack) under_op = under_op || !o.part;
          if (!part) {
            out.dispatches += 1;
            for (const auto& o : stack)
              if (o.part) parts[o.name].dispatches += 1;
            if (!under_op) {
              out.operators += 1;
              for (const auto& o : stack)
                if (o.part) parts[o.name].operators += 1;
            }
          } else if (!parts.count(name)) {
            part_order.push_back(name);
            parts[name].name = name.substr(5);
          }
          stack.push_back({name, &e, part, !part && !under_op});
          break;
        }
        case prof::EventKind::PopRange: {
          if (stack.empty()) break;
          const Open o = stack.back();
          stack.pop_back();
          const double us = o.push->cpuElapsedUs(e);
          if (o.part) {
            parts[o.name].time_us += us;
          } else if (o.top_level) {
            std::string part;  // the innermost marked part around the operator
            for (auto it = stack.rbegin(); it != stack.rend() && part.empty(); ++it)
              if (it->part) part = it->name.substr(5);
            auto& s = ops[part + "\n" + o.name];
            s.name = o.name;
            s.part = part;
            s.calls += 1;
            s.time_us += us;
            out.operator_us += us;
          }
          break;
        }
        case prof::EventKind::MemoryAlloc:
          if (e.cpuMemoryUsage() > 0) out.allocations += 1;
          break;
        case prof::EventKind::Mark:
          break;
      }
    }
  }
  out.operators /= n;
  out.dispatches /= n;
  out.allocations /= n;
  out.operator_us /= n;
  for (auto& [name, s] : ops) {
    s.calls /= n;
    s.time_us /= n;
    out.ops.push_back(s);
  }
  std::sort(out.ops.begin(), out.ops.end(), [](const OpStat& a, const OpStat& b) { return a.time_us > b.time_us; });
  for (const auto& name : part_order) {
    PartStat p = parts[name];
    p.time_us /= n;
    p.operators /= n;
    p.dispatches /= n;
    out.parts.push_back(p);
  }
  return out;
}

std::string format_op_profile(const std::string& title, const OpProfile& p, int top) {
  std::string s;
  char line[256];
  std::snprintf(line, sizeof(line),
                "%s: %.0f us per run (profiler on, %d runs); %.0f top-level operators (%.0f dispatches) "
                "taking %.0f us; host time between them %.0f us; %.0f tensor allocations\n\n",
                title.c_str(), p.wall_us, p.runs, p.operators, p.dispatches, p.operator_us, p.wall_us - p.operator_us,
                p.allocations);
  s += line;
  if (!p.parts.empty()) {
    s += "| part | us | operators | dispatches |\n|---|---:|---:|---:|\n";
    for (const auto& part : p.parts) {
      std::snprintf(line, sizeof(line), "| %s | %.0f | %.0f | %.0f |\n", part.name.c_str(), part.time_us,
                    part.operators, part.dispatches);
      s += line;
    }
    s += "\n";
  }
  s += "| operator | part | calls | us | us per call |\n|---|---|---:|---:|---:|\n";
  for (int i = 0; i < top && i < static_cast<int>(p.ops.size()); ++i) {
    const auto& o = p.ops[static_cast<std::size_t>(i)];
    std::snprintf(line, sizeof(line), "| %s | %s | %.0f | %.0f | %.1f |\n", o.name.c_str(), o.part.c_str(), o.calls,
                  o.time_us, o.calls > 0 ? o.time_us / o.calls : 0.0);
    s += line;
  }
  return s;
}

}  // namespace dkd
