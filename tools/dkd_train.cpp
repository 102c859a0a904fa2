// dkd_train: trains the stages of a config (initializer, baseline, dkd) into a work dir.
#include <cstdio>

#include "dkd/dist/launcher.h"
#include "dkd/train/trainer.h"
#include "dkd/train/work_dir.h"
#include "dkd/app/cli.h"
#include "dkd/app/run_config.h"
#include "dkd/util/error.h"
#include "dkd/util/logging.h"

int main(int argc, char** argv) {
  CLI::App app{
      "dkd_train: train a DKD model or a per-frame baseline.\n"
      "Example: dkd_train --config configs/synthetic.yaml --set train.dkd.epochs=2"};
  dkd::ConfigOptions config_options;
  dkd::TrainOptions options;
  int nproc = 0;
  bool reference = false;
  dkd::add_config_options(app, config_options, false);
  app.add_flag("--config-reference", reference, "print every config key with its default and meaning (Markdown)");
  app.add_option("--work-dir", options.work_dir, "output folder (default: train.work_dir or work_dirs/<config name>)");
  app.add_flag("--resume", options.resume,
               "continue the run in the work dir from its last good checkpoint, with the config stored in it");
  app.add_flag("--resume-with-changes", options.resume_with_changes,
               "with --resume: continue with the given --config/--set even where they differ from the stored config");
  app.add_flag("--force", options.force,
               "start a new run in a work dir that holds one, moving the old run aside to <work-dir>.old-<time>");
  app.add_option("--nproc", nproc, "start N local data-parallel ranks (c10d); torchrun's variables also work")
      ->check(CLI::Range(1, 256));
  if (const int code = dkd::parse_command_line(app, argc, argv); code >= 0) return code;
  return dkd::run_tool("dkd_train", [&] {
    if (reference) {
      std::fputs(dkd::config_reference_markdown().c_str(), stdout);
      return 0;
    }
    // Resolved before launching ranks, so a refused --resume is one message.
    const dkd::Config config = dkd::resolve_run_config(config_options, options);
    if (config_options.print_config) return 0;
    if (nproc > 1) {
      // The ranks share this process's lock on the work dir (taken by resolve_run_config).
      dkd::share_work_dir_lock(dkd::resolve_work_dir(config, options));
      dkd::LaunchOptions launch;
      launch.stop_grace_s = config.dist.stop_grace_s;
      return dkd::launch_local_ranks(nproc, argc, argv, launch);
    }
    dkd::init_logging(dkd::name_of(config.runtime.log_level));
    return dkd::run_training(config, options);
  });
}
