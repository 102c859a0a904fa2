// dkd_data: checks data set folders, generates the synthetic data set, draws
// contact sheets and benchmarks the loader.
#include "dkd/config/config.h"
#include "dkd/data/check.h"
#include "dkd/data/loader.h"
#include "dkd/infer/infer_command.h"
#include "dkd/infer/pseudo_label.h"
#include "dkd/synth/synth.h"
#include "dkd/synth/show.h"
#include "dkd/app/cli.h"
#include "dkd/util/logging.h"
#include "dkd/config/runtime_setup.h"
#include "dkd/util/runtime.h"

int main(int argc, char** argv) {
  CLI::App app{"dkd_data: data set tools (check, synth, show, pseudo-label, bench)"};
  app.require_subcommand(1);

  std::string dataset = "penn";
  std::string root;
  int split = 1;
  std::string json_path;
  auto* check = app.add_subcommand("check", "validate every file of a data set folder; exit 1 on any problem");
  dkd::add_dataset_option(*check, "--dataset", dataset, "data set");
  check->add_option("--root", root, "data set folder")->required();
  check->add_option("--split", split, "Sub-JHMDB split (1, 2 or 3)")->check(CLI::Range(1, 3));
  check->add_option("--json", json_path, "write the report as JSON");
  bool decode = true;
  check->add_flag("--decode,!--no-decode", decode,
                  "decode every frame in parallel and report the bad ones (default); --no-decode checks "
                  "annotations, frame counts and file signatures only");

  dkd::SynthOptions synth;
  auto* gen = app.add_subcommand("synth", "generate the synthetic data set in the Penn Action or JHMDB layout");
  dkd::add_kind_option(*gen, "--format", synth.format, "layout to write");
  gen->add_option("--out", synth.out, "output folder")->required();
  gen->add_option("--videos", synth.videos, "number of videos")->capture_default_str();
  gen->add_option("--seed", synth.seed, "random seed (same seed, same bytes)")->capture_default_str();
  gen->add_option("--difficulty", synth.difficulty, "easy, standard or hard")
      ->check(CLI::IsMember({"easy", "standard", "hard"}))
      ->capture_default_str();
  gen->add_option("--width", synth.width, "frame width")->capture_default_str();
  gen->add_option("--height", synth.height, "frame height")->capture_default_str();
  gen->add_option("--min-frames", synth.min_frames, "shortest video")->capture_default_str();
  gen->add_option("--max-frames", synth.max_frames, "longest video")->capture_default_str();
  gen->add_option("--backgrounds", synth.backgrounds,
                  "photos (opencv-doc's sample photographs; apt-get install opencv-doc), procedural, or a "
                  "folder of *.jpg/*.jpeg/*.png images")
      ->capture_default_str();
  gen->add_option("--threads", synth.threads, "generator threads; 0 = all cores")->capture_default_str();
  gen->add_flag("--force", synth.force, "replace an existing data set in --out");

  dkd::ShowOptions show;
  auto* sheet = app.add_subcommand("show", "draw a contact sheet: frames with the ground-truth skeletons");
  dkd::add_dataset_option(*sheet, "--dataset", show.dataset, "data set");
  sheet->add_option("--root", show.root, "data set folder")->required();
  sheet->add_option("--out", show.out, "PNG file")->capture_default_str();
  sheet->add_option("--videos", show.videos, "rows (one video per action in turn)")->capture_default_str();
  sheet->add_option("--frames", show.frames, "columns (frames spread over each video)")->capture_default_str();
  sheet->add_option("--split", show.split, "Sub-JHMDB split")->check(CLI::Range(1, 3));
  sheet->add_option("--cell-width", show.cell_width, "pixels per cell")->capture_default_str();
  sheet->add_flag("!--no-annotations", show.annotate, "raw frames: no skeletons or boxes");

  dkd::PseudoLabelOptions pseudo;
  std::vector<std::string> pseudo_boxes;
  auto* label = app.add_subcommand(
      "pseudo-label",
      "label real footage with the pretrained BlazePose network: one Penn Action video per tracked person");
  label->add_option("--teacher", pseudo.teacher, "blazepose_lite, blazepose_full or blazepose_heavy")
      ->capture_default_str();
  label->add_option("--input", pseudo.input, "video file or folder of images")->required();
  label->add_option("--out", pseudo.out, "data set folder to write (Penn Action layout)")->required();
  dkd::add_dataset_option(*label, "--joints", pseudo.joints, "data set whose joint set the labels use");
  label->add_option("--box", pseudo_boxes,
                    "person box x1,y1,x2,y2 in the first frame (repeatable); default: OpenCV's HOG people detector");
  label->add_option("--max-people", pseudo.max_people, "live tracks at most")->capture_default_str();
  label
      ->add_option("--detect-every", pseudo.detect_every,
                   "look for new people every N frames (HOG; without --box); 0 = first frame only")
      ->capture_default_str();
  label->add_option("--min-frames", pseudo.min_frames, "shorter tracks are not written")->capture_default_str();
  label->add_option("--max-lost", pseudo.max_lost, "frames in a row without a person before a track ends")
      ->capture_default_str();
  label->add_option("--max-frames", pseudo.max_frames, "read at most N frames; 0 = all")->capture_default_str();
  label
      ->add_option("--test-from", pseudo.test_from,
                   "first frame (0-based) of the test segment: tracks are cut there, earlier frames train; -1 = "
                   "all train")
      ->capture_default_str();
  label->add_option("--min-visibility", pseudo.min_visibility, "teacher visibility of a visible joint")
      ->capture_default_str();
  label->add_option("--box-margin", pseudo.box_margin, "context around a first box, fraction of its size")
      ->capture_default_str();
  label->add_option("--box-padding", pseudo.box_padding, "label box around the landmarks, fraction of its size")
      ->capture_default_str();
  label->add_option("--same-person-iou", pseudo.same_person_iou, "box overlap at which two tracks are one person")
      ->capture_default_str();
  label->add_option("--action", pseudo.action, "Penn Action 'action' of every video")->capture_default_str();
  label->add_option("--device", pseudo.device, "cpu, cuda or cuda:N")->capture_default_str();
  label->add_flag("--force", pseudo.force, "replace a data set already in --out");

  dkd::ConfigOptions config_options;
  int batches = 50;
  auto* bench = app.add_subcommand("bench", "time the training loader (clips/s) of a config");
  dkd::add_config_options(*bench, config_options);
  bench->add_option("--batches", batches, "batches to time")->capture_default_str();

  if (const int code = dkd::parse_command_line(app, argc, argv); code >= 0) return code;
  return dkd::run_tool("dkd_data", [&]() -> int {
    dkd::init_logging("info");
    if (*check) return dkd::run_data_check(dataset, root, split, json_path, decode);
    if (*gen) return dkd::run_synth(synth);
    if (*sheet) return dkd::run_show(show);
    if (*label) {
      for (const auto& b : pseudo_boxes) pseudo.boxes.push_back(dkd::parse_box(b));
      return dkd::run_pseudo_label(pseudo);
    }
    const dkd::Config config = dkd::load_config(config_options);
    dkd::apply_runtime(config.runtime);
    return dkd::run_loader_bench(config, batches);
  });
}
