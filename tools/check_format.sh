#!/usr/bin/env bash
# Checks that the C++ sources follow .clang-format (clang-format --dry-run --Werror):
# src, include, tests and tools, *.cpp and *.h. Lists the files that deviate and
# exits 1; exits 77 (ctest's skip code for test format.clang_format) when
# clang-format is not installed. Fix the tree with:
#   clang-format -i $(git ls-files 'src/*.cpp' 'src/*.h' 'include/*.h' 'tests/*.cpp' 'tests/*.h' 'tools/*.cpp' 'tools/*.h')
#
#   tools/check_format.sh            # every file
#   tools/check_format.sh FILE...    # these files only
set -uo pipefail
cd "$(dirname "$0")/.."

CLANG_FORMAT="${CLANG_FORMAT:-clang-format}"
if ! command -v "$CLANG_FORMAT" > /dev/null 2>&1; then
  echo "check_format: $CLANG_FORMAT not found; skipped (tools/setup.sh installs it)"
  exit 77
fi

if (($#)); then
  files=("$@")
else
  mapfile -t files < <(find src include tests tools -type f \( -name '*.cpp' -o -name '*.h' \) | sort)
fi

bad=()
for f in "${files[@]}"; do
  if ! "$CLANG_FORMAT" --dry-run --Werror "$f" > /dev/null 2>&1; then
    bad+=("$f")
  fi
done
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} of ${#files[@]} files differ from .clang-format ($("$CLANG_FORMAT" --version)):"
  printf '  %s\n' "${bad[@]}"
  echo "see the changes with: $CLANG_FORMAT --dry-run FILE; apply them with: $CLANG_FORMAT -i FILE"
  exit 1
fi
echo "check_format: ${#files[@]} files follow .clang-format"
