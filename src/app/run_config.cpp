#include "dkd/app/run_config.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "dkd/dist/env.h"
#include "dkd/models/checkpoint.h"
#include "dkd/train/trainer.h"
#include "dkd/train/work_dir.h"
#include "dkd/app/cli.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

/// One dkd_train writes a work dir: rank 0 (or the process that starts the
/// ranks) takes its lock before looking at it; ranks > 0 only read it.
void lock_unless_other_rank(const std::string& root) {
  if (dist_env_from_environment().rank == 0) lock_work_dir(root);
}

}  // namespace

Config resolve_run_config(const ConfigOptions& cli, TrainOptions& options) {
  const bool given = !cli.config_path.empty();
  if (!options.resume) {
    if (options.resume_with_changes) throw UsageError("--resume-with-changes needs --resume");
    Config config = load_config(cli);
    // Also checked by the trainer (rank 0); here so --nproc refuses before starting ranks.
    const WorkDir work_dir(resolve_work_dir(config, options));
    if (!cli.print_config) lock_unless_other_rank(work_dir.root());
    if (!options.force && !cli.print_config && work_dir.holds_run())
      throw UsageError(work_dir.root() +
                       " already holds a run (last_checkpoint, best.pt or checkpoints/); "
                       "continue it with --resume, or pass --force to move it aside and start a new one");
    return config;
  }
  if (options.force) throw UsageError("--force starts a new run; it cannot be combined with --resume");
  std::optional<Config> wanted;
  if (given) {
    wanted = load_config(cli);
    options.work_dir = resolve_work_dir(*wanted, options);
  } else if (!cli.overrides.empty()) {
    throw UsageError("--set needs --config (a --resume without --config trains with the stored config)");
  }
  if (options.work_dir.empty())
    throw UsageError("--resume needs --work-dir (or --config, whose work dir it continues)");

  // The run continues with the config it was started with, as stored in its checkpoint.
  WorkDir work_dir(options.work_dir);
  if (!cli.print_config) lock_unless_other_rank(work_dir.root());
  std::string note;
  options.resume_checkpoint = work_dir.pick_resume_checkpoint(&note);
  if (!note.empty()) spdlog::warn("{}", note);
  const CheckpointMeta meta = read_checkpoint_meta(options.resume_checkpoint);
  Config stored = meta.config_yaml.empty()
                      ? load_config(work_dir.path("config.yaml"))
                      : load_config_from_string(meta.config_yaml, {}, options.resume_checkpoint + " (stored config)");
  stored.source_path = given ? wanted->source_path : work_dir.path("config.yaml");
  if (!wanted) return stored;

  const auto differences = config_differences(stored, *wanted);
  if (differences.empty()) return stored;
  std::string list;
  for (const auto& d : differences) list += "\n  " + d;
  if (!options.resume_with_changes)
    throw UsageError("--resume: the given config differs from the one the run in " + options.work_dir +
                     " was trained with (stored in " + options.resume_checkpoint + ") in " +
                     std::to_string(differences.size()) + " key(s):" + list +
                     "\nLeave out --config/--set to continue with the stored config, or pass "
                     "--resume-with-changes to continue with the given one.");
  spdlog::warn("--resume-with-changes: continuing {} with {} changed key(s):{}", options.work_dir, differences.size(),
               list);
  return *wanted;
}

}  // namespace dkd
