#include "dkd/models/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>

#include <exception>
#include <filesystem>

#include <unistd.h>

#include "dkd/models/pickle_reader.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

constexpr int64_t kFormatVersion = 1;

c10::IValue stage_list(const std::vector<StageKind>& v) {
  c10::List<std::string> list;
  for (const StageKind s : v) list.push_back(name_of(s));
  return list;
}

/// Stage names are stored as text (checkpoints stay readable when stages are added).
StageKind stage_from_text(const std::string& name, const std::string& path) {
  try {
    return parse_kind<StageKind>(name, "meta.stage");
  } catch (const ConfigError& e) {
    throw Error(path + ": corrupt checkpoint: " + e.what());
  }
}

void write_meta(torch::serialize::OutputArchive& a, const CheckpointMeta& m) {
  a.write("meta.version", c10::IValue(kFormatVersion));
  a.write("meta.stage", c10::IValue(std::string(m.stage ? name_of(*m.stage) : "")));
  a.write("meta.completed_stages", stage_list(m.completed_stages));
  a.write("meta.epoch", c10::IValue(m.epoch));
  a.write("meta.iter_in_epoch", c10::IValue(m.iter_in_epoch));
  a.write("meta.step", c10::IValue(m.step));
  a.write("meta.global_step", c10::IValue(m.global_step));
  a.write("meta.best_metric", c10::IValue(m.best_metric));
  a.write("meta.best_epoch", c10::IValue(m.best_epoch));
  a.write("meta.began_k", c10::IValue(m.began_k));
  a.write("meta.world_size", c10::IValue(m.world_size));
  a.write("meta.config_yaml", c10::IValue(m.config_yaml));
}

template <class T>
T read_value(torch::serialize::InputArchive& a, const std::string& key, const std::string& path);

c10::IValue read_ivalue(torch::serialize::InputArchive& a, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!a.try_read(key, v)) throw Error(path + ": not a dkd checkpoint (missing " + key + ")");
  return v;
}

/// Runs `f`, turning LibTorch's errors about a damaged archive (a value of the
/// wrong type, a bad RNG state) into an Error naming the file.
template <class F>
auto guarded(const std::string& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Error(path + ": corrupt checkpoint: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
}

CheckpointMeta read_meta(torch::serialize::InputArchive& a, const std::string& path) {
  return guarded(path, [&] {
    CheckpointMeta m;
    const int64_t version = read_ivalue(a, "meta.version", path).toInt();
    if (version != kFormatVersion)
      throw Error(path + ": checkpoint format version " + std::to_string(version) + " is not supported (expected " +
                  std::to_string(kFormatVersion) + ")");
    const std::string stage = read_ivalue(a, "meta.stage", path).toStringRef();
    if (!stage.empty()) m.stage = stage_from_text(stage, path);
    for (const auto& s : read_ivalue(a, "meta.completed_stages", path).toListRef())
      m.completed_stages.push_back(stage_from_text(s.toStringRef(), path));
    m.epoch = read_ivalue(a, "meta.epoch", path).toInt();
    m.iter_in_epoch = read_ivalue(a, "meta.iter_in_epoch", path).toInt();
    m.step = read_ivalue(a, "meta.step", path).toInt();
    m.global_step = read_ivalue(a, "meta.global_step", path).toInt();
    m.best_metric = read_ivalue(a, "meta.best_metric", path).toDouble();
    m.best_epoch = read_ivalue(a, "meta.best_epoch", path).toInt();
    m.began_k = read_ivalue(a, "meta.began_k", path).toDouble();
    m.world_size = read_ivalue(a, "meta.world_size", path).toInt();
    m.config_yaml = read_ivalue(a, "meta.config_yaml", path).toStringRef();
    return m;
  });
}

void open_archive(torch::serialize::InputArchive& a, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("checkpoint not found: " + path);
  try {
    // LibTorch's unpickler trusts the file; a malformed pickle must not reach it.
    validate_torch_archive(path);
    a.load_from(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot read checkpoint (truncated or not a dkd checkpoint): " +
                std::string(e.what_without_backtrace()).substr(0, 200));
  } catch (const std::exception& e) {
    throw Error(path +
                ": cannot read checkpoint (corrupt or not a dkd checkpoint): " + std::string(e.what()).substr(0, 200));
  }
}

void load_module(torch::serialize::InputArchive& a, const std::string& name, torch::nn::Module& module,
                 const std::string& path, bool allow_missing) {
  torch::serialize::InputArchive sub;
  if (!a.try_read("model." + name, sub)) {
    if (allow_missing) return;
    throw Error(path + ": checkpoint has no '" + name + "' model (it holds: " + [&] {
      std::string s;
      for (const auto& k : a.keys())
        if (k.rfind("model.", 0) == 0 && k.find('.', 6) == std::string::npos)
          s += (s.empty() ? "" : ", ") + k.substr(6);
      return s.empty() ? std::string("none") : s;
    }() + ")");
  }
  // Module::load replaces tensors whatever their shape, so compare shapes around it.
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : module.named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : module.named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  try {
    module.load(sub);
  } catch (const c10::Error& e) {
    throw Error(path + ": the '" + name +
                "' weights do not fit the model built from the config; "
                "does the checkpoint match the config? (" +
                std::string(e.what_without_backtrace()).substr(0, 300) + ")");
  }
  const auto check = [&](const std::string& key, const at::Tensor& t) {
    const auto it = shapes.find(key);
    if (it == shapes.end() || it->second == t.sizes().vec()) return;
    throw Error(path + ": '" + name + "." + key + "' has shape " + c10::str(t.sizes()) + " in the checkpoint but " +
                c10::str(c10::IntArrayRef(it->second)) +
                " in the model built from the config (does the checkpoint match the config?)");
  };
  for (const auto& p : module.named_parameters()) check(p.key(), p.value());
  for (const auto& b : module.named_buffers()) check(b.key(), b.value());
}

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointMeta& meta, const ModuleMap& modules,
                     const OptimizerMap& optimizers) {
  torch::serialize::OutputArchive archive;
  write_meta(archive, meta);
  for (const auto& [name, module] : modules) {
    torch::serialize::OutputArchive sub;
    module->save(sub);
    archive.write("model." + name, sub);
  }
  for (const auto& [name, optimizer] : optimizers) {
    torch::serialize::OutputArchive sub;
    optimizer->save(sub);
    archive.write("optim." + name, sub);
  }
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng.torch_cpu", generator.get_state());
  }
  write_file_atomic_with(path, [&](const std::string& tmp) {
    // The zip writer never sees a failed write: LibTorch 1.13's writer, told of
    // one, throws, and its destructor then writes the end of the archive and
    // throws again (std::terminate). The bytes go through FileWriter; its first
    // failure is kept and reported once the archive is done.
    FileWriter file(tmp, false, path);
    std::exception_ptr failure;
    const auto sink = [&](const void* data, size_t size) -> size_t {
      if (!failure) {
        try {
          file.write(data, size);
        } catch (...) {
          failure = std::current_exception();
        }
      }
      return size;
    };
    try {
      archive.save_to(sink);
    } catch (const c10::Error& e) {
      throw Error("cannot write checkpoint " + path + ": " + e.what_without_backtrace());
    }
    if (failure) std::rethrow_exception(failure);
    file.close();
  });
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path);
  return read_meta(archive, path);
}

CheckpointMeta load_checkpoint(const std::string& path, const ModuleMap& modules, const OptimizerMap& optimizers,
                               bool allow_missing) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path);
  CheckpointMeta meta = read_meta(archive, path);
  for (const auto& [name, module] : modules) load_module(archive, name, *module, path, allow_missing);
  for (const auto& [name, optimizer] : optimizers) {
    torch::serialize::InputArchive sub;
    if (!archive.try_read("optim." + name, sub)) {
      if (allow_missing) continue;
      throw Error(path + ": checkpoint has no state for optimizer '" + name + "'");
    }
    try {
      optimizer->load(sub);
    } catch (const c10::Error& e) {
      throw Error(path + ": optimizer '" + name + "' state does not fit: " + e.what_without_backtrace());
    }
  }
  c10::IValue rng;
  if (archive.try_read("rng.torch_cpu", rng)) {
    guarded(path, [&] {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(rng.toTensor());
    });
  }
  return meta;
}

void load_model_weights(const std::string& path, const ModuleMap& modules) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path);
  for (const auto& [name, module] : modules) load_module(archive, name, *module, path, false);
}

std::vector<std::string> checkpoint_models(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path);
  std::vector<std::string> names;
  for (const auto& k : archive.keys())
    if (k.rfind("model.", 0) == 0 && k.find('.', 6) == std::string::npos) names.push_back(k.substr(6));
  return names;
}

}  // namespace dkd
