// dkd_infer: streaming DKD pose tracking on a video file, a folder of images or
// a camera; writes keypoints.json (the evaluator's predictions format) and an
// overlay video. --bench times track() against the initializer on every frame.
#include "dkd/infer/bench.h"
#include "dkd/infer/infer_command.h"
#include "dkd/models/checkpoint.h"
#include "dkd/app/cli.h"
#include "dkd/util/error.h"
#include "dkd/util/logging.h"
#include "dkd/config/runtime_setup.h"
#include "dkd/util/runtime.h"

int main(int argc, char** argv) {
  CLI::App app{
      "dkd_infer: track one person's pose through a video with a trained DKD model, or with the pretrained "
      "BlazePose network (--teacher).\n"
      "Writes OUT/keypoints.json (dkd_eval --predictions format) and OUT/overlay.mp4 (.avi without an MP4 "
      "writer).\nWithout --box the first frame's box is the whole frame.\n"
      "Example: dkd_infer --config configs/penn.yaml --checkpoint work_dirs/penn/best.pt \\\n"
      "           --input /usr/share/doc/opencv-doc/examples/data/vtest.avi --out out/vtest\n"
      "         dkd_infer --teacher blazepose_full --input /usr/share/doc/opencv-doc/examples/data/vtest.avi \\\n"
      "           --box 280,190,340,330 --out out/vtest_blazepose"};
  dkd::ConfigOptions config_options;
  dkd::InferOptions options;
  bool bench = false;
  dkd::BenchOptions bench_options;
  dkd::add_config_options(app, config_options, /*config_required=*/false);
  app.add_option("--checkpoint", options.checkpoint, "trained checkpoint; without --config its stored config is used");
  app.add_option("--input", options.input, "video file, folder of images (sorted) or camera:N");
  app.add_option("--out", options.out, "output folder");
  app.add_option("--box", options.box, "person box in the first frame, pixels (default: the whole frame)")
      ->type_name("x1,y1,x2,y2");
  app.add_option("--video-id", options.video_id, "video id in keypoints.json (default: the input's name)");
  app.add_option("--max-frames", options.max_frames, "stop after N frames (0 = all; a camera runs until Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("!--no-overlay", options.overlay, "do not write the overlay video");
  app.add_option("--snapshot", options.snapshots,
                 "also save the drawn frame N as OUT/frame_NNNNN.png (repeatable, 0-based)")
      ->delimiter(',');
  app.add_option("--teacher", options.teacher,
                 "track with the pretrained BlazePose network on every frame instead of a checkpoint: "
                 "blazepose_lite, blazepose_full or blazepose_heavy (tools/fetch_models.sh fetches them); "
                 "keypoints.json also gets the 33 landmarks; without --box the HOG people detector finds the person");
  app.add_option("--box-margin", options.box_margin,
                 "--teacher: context added on each side of --box, as a fraction of its size (0 = the box as given, "
                 "widened to a square)")
      ->check(CLI::Range(0.0, 4.0))
      ->capture_default_str();
  app.add_flag("--random-weights", options.random_weights,
               "no checkpoint: an untrained model, to check the pipeline only (meaningless keypoints)");
  app.add_flag("--bench", bench,
               "time track() against the initializer on every frame, with and without BN folding "
               "(random weights without --checkpoint; --input gives the frame)");
  app.add_option("--bench-frames", bench_options.frames, "timed frames per benchmark row")->check(CLI::PositiveNumber);
  app.add_option("--bench-streams", bench_options.streams,
                 "with --bench: also time this many people in one frame stepped as one batch (CPU)")
      ->check(CLI::Range(2, 256));
  app.add_option("--export-step", bench_options.export_dir,
                 "with --bench: also write the model (state_dict), the frame and the tracker's crops and keypoints "
                 "to this folder, for tools/compare_pytorch.py step");
  app.add_flag("--profile", bench_options.profile,
               "with --bench: also profile one tracker step and one per-frame run (operators, parts, allocations, "
               "host time)");
  if (const int code = dkd::parse_command_line(app, argc, argv); code >= 0) return code;
  return dkd::run_tool("dkd_infer", [&] {
    dkd::Config config;
    if (!config_options.config_path.empty()) {
      config = dkd::load_config(config_options);
    } else if (!options.checkpoint.empty()) {
      const auto meta = dkd::read_checkpoint_meta(options.checkpoint);
      if (meta.config_yaml.empty()) {
        throw dkd::UsageError(options.checkpoint + " stores no config; give --config FILE");
      }
      config = dkd::load_config_from_string(meta.config_yaml, config_options.overrides, options.checkpoint);
      if (config_options.print_config) std::printf("%s", dkd::dump_config(config, true).c_str());
    } else if (!options.teacher.empty()) {
      config = dkd::teacher_config(config_options.overrides);
    } else {
      throw dkd::UsageError("--config FILE is required (or --checkpoint with a stored config, or --teacher)");
    }
    if (config_options.print_config) return 0;
    dkd::init_logging(dkd::name_of(config.runtime.log_level));
    dkd::apply_runtime(config.runtime);
    if (bench && !options.teacher.empty()) return dkd::run_blazepose_bench(config, bench_options);
    if (bench) {
      bench_options.checkpoint = options.checkpoint;
      bench_options.input = options.input;
      return dkd::run_infer_bench(config, bench_options);
    }
    if (options.input.empty()) throw dkd::UsageError("--input is required (a video file, a folder or camera:N)");
    return dkd::run_infer(config, options);
  });
}
