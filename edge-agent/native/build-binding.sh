#!/usr/bin/env bash
# Builds the de.kherud java-llama.cpp binding's native library (libjllama.so) for this machine's CPU
# from the binding's source and the llama.cpp source it was released with. See --help.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: edge-agent/native/build-binding.sh [options] [-- extra cmake options]

Builds libjllama.so, the de.kherud java-llama.cpp binding's native library, for this machine
(GGML_NATIVE: AVX-512 where the CPU has it; the jar bundles an AVX2-only build), from the
binding's source at the version infermesh uses and the llama.cpp commit that version pins.
Nothing is downloaded when both sources are local paths (json comes from llama.cpp's own copy).
Prints where the library landed and the edge setting that loads it.

Options:
  --binding SRC       java-llama.cpp: a local git checkout/mirror, a plain source directory, or a
                      git URL (default https://github.com/kherud/java-llama.cpp)
  --binding-ref REF   tag or commit of the binding (default v4.2.0: the de.kherud:llama version
                      in infermesh's pom.xml; must match it, the JNI signatures are per version)
  --llama SRC         llama.cpp: a local git repository, a plain source directory already at the
                      right commit, or a git URL (default https://github.com/ggml-org/llama.cpp)
  --llama-ref REF     tag or commit of llama.cpp (default: the GIT_TAG in the binding's
                      CMakeLists.txt, b4916 for v4.2.0). A local repository without b-tags
                      (a mirror) resolves bNNNN as llama.cpp numbers its builds: the commit of
                      HEAD's first-parent line with `git rev-list --count` = NNNN (b4916 is
                      c6af2161b, 2025-03-18)
  --out DIR           where libjllama.so goes (default ~/.infermesh/jllama-<binding-ref>-native)
  --work DIR          scratch directory for sources and the build (default: a new temp directory,
                      removed at the end; give one to keep and rebuild incrementally)
  --jobs N            parallel compile jobs (default: the number of CPUs)
  --no-free-patch     build the binding as released, without jllama-free-model-on-close.patch
                      (next to this script), which makes a closed model give its memory back:
                      v4.2.0 frees nothing on close (kherud/java-llama.cpp#102), so every model
                      swap on the edge keeps the old model resident until the agent restarts
  -h, --help          this text

Anything after -- goes to cmake, e.g. -- -DGGML_CUDA=ON, or -- -DGGML_NATIVE=OFF -DGGML_AVX2=ON
to reproduce the bundled build. Needs git, cmake >= 3.14, a C++17 compiler, and OpenMP.

Examples:
  edge-agent/native/build-binding.sh
  edge-agent/native/build-binding.sh --binding ~/src/java-llama.cpp --llama ~/src/llama.cpp --llama-ref c6af2161b
EOF
}

binding_src=https://github.com/kherud/java-llama.cpp
binding_ref=v4.2.0
llama_src=https://github.com/ggml-org/llama.cpp
llama_ref=
out=
work=
jobs=$(nproc 2>/dev/null || echo 2)
free_patch=$(cd "$(dirname "$0")" && pwd)/jllama-free-model-on-close.patch
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binding) binding_src=$2; shift 2 ;;
    --binding-ref) binding_ref=$2; shift 2 ;;
    --llama) llama_src=$2; shift 2 ;;
    --llama-ref) llama_ref=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --no-free-patch) free_patch=; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "build-binding.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
out=${out:-$HOME/.infermesh/jllama-$binding_ref-native}

if [[ -z $work ]]; then
  # not named jllama*/llama*: the binding's loader deletes such entries of the temp directory
  work=$(mktemp -d "${TMPDIR:-/tmp}/infermesh-binding-build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work" "$out"

# resolve_build_number REPO N: the commit on REPO's HEAD first-parent line whose history holds N commits
# (llama.cpp's bNNNN release tags are that count on master).
resolve_build_number() {
  local repo=$1 n=$2 lo=0 hi mid count
  local -a line
  mapfile -t line < <(git -C "$repo" rev-list --first-parent --reverse HEAD)
  hi=$(( ${#line[@]} - 1 ))
  while (( lo <= hi )); do
    mid=$(( (lo + hi) / 2 ))
    count=$(git -C "$repo" rev-list --count "${line[mid]}")
    if (( count == n )); then echo "${line[mid]}"; return 0
    elif (( count < n )); then lo=$(( mid + 1 ))
    else hi=$(( mid - 1 )); fi
  done
  return 1
}

# fetch_source SRC REF DEST PATHS...: DEST gets the tree of SRC at REF (only PATHS of it when SRC is a
# local repository: git archive of the rest may need objects a partial mirror lacks).
fetch_source() {
  local src=$1 ref=$2 dest=$3; shift 3
  rm -rf "$dest"; mkdir -p "$dest"
  if [[ -d $src ]] && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    if [[ -n $ref ]]; then
      if ! git -C "$src" rev-parse --verify --quiet "$ref^{commit}" >/dev/null && [[ $ref =~ ^b([0-9]+)$ ]]; then
        local resolved
        resolved=$(resolve_build_number "$src" "${BASH_REMATCH[1]}") \
          || { echo "build-binding.sh: $src has no tag $ref and no commit numbered ${BASH_REMATCH[1]}" >&2; exit 1; }
        echo "source: $src has no tag $ref; build number ${BASH_REMATCH[1]} is $(git -C "$src" log -1 \
          --format='%h (%cs) %s' "$resolved")"
        ref=$resolved
      fi
      git -C "$src" rev-parse --verify --quiet "$ref^{commit}" >/dev/null \
        || { echo "build-binding.sh: $src has no commit or tag '$ref'" >&2; exit 1; }
      echo "source: $src at $ref ($(git -C "$src" rev-parse --short=9 "$ref^{commit}"))"
      git -C "$src" archive --format=tar "$ref" -- "$@" | tar -x -C "$dest"
    else
      echo "source: $src, working tree as it is"
      cp -a "$src/." "$dest/"
    fi
  elif [[ -d $src ]]; then
    echo "source: $src (a plain directory: used as it is, its version is not checked)"
    cp -a "$src/." "$dest/"
  else
    echo "source: cloning $src ${ref:+at $ref}"
    git clone --quiet --filter=blob:none --no-checkout "$src" "$dest"
    git -C "$dest" checkout --quiet "${ref:-HEAD}"
  fi
}

fetch_source "$binding_src" "$binding_ref" "$work/binding" CMakeLists.txt src/main/cpp .github/include pom.xml
if [[ -n $free_patch ]]; then
  patch --quiet --forward -p1 -d "$work/binding" < "$free_patch" \
    || { echo "build-binding.sh: $free_patch does not apply to the binding at $binding_ref (it is made for" \
      "v4.2.0); rerun with --no-free-patch to build it as released" >&2; exit 1; }
  echo "patch: $(basename "$free_patch") applied (a closed model gives its memory back)"
fi
cmake_lists=$work/binding/CMakeLists.txt
[[ -f $cmake_lists ]] || { echo "build-binding.sh: no CMakeLists.txt in the binding source" >&2; exit 1; }
pinned=$(sed -n '/FetchContent_Declare(/,/)/p' "$cmake_lists" | awk '/llama.cpp.git/{f=1} f && /GIT_TAG/{print $2; exit}')
llama_ref=${llama_ref:-$pinned}
echo "binding $binding_ref pins llama.cpp ${pinned:-?}; building llama.cpp ${llama_ref:-as given}"
fetch_source "$llama_src" "$llama_ref" "$work/llama.cpp" CMakeLists.txt cmake common ggml include src LICENSE

# nlohmann::json as a CMake project, from the copy llama.cpp keeps in common/ (the binding would fetch it)
mkdir -p "$work/json/include/nlohmann"
cp "$work/llama.cpp/common/json.hpp" "$work/json/include/nlohmann/json.hpp"
cat > "$work/json/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.14)
project(nlohmann_json CXX)
add_library(nlohmann_json INTERFACE)
target_include_directories(nlohmann_json INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
EOF

case "$(uname -m)" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) arch=$(uname -m) ;;
esac
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$work/binding" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DOS_NAME=Linux -DOS_ARCH="$arch" -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
  -DFETCHCONTENT_SOURCE_DIR_LLAMA.CPP="$work/llama.cpp" -DFETCHCONTENT_SOURCE_DIR_JSON="$work/json" \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF "${extra[@]}"
cmake --build "$work/build" --config Release -j "$jobs" --target jllama

library=$(find "$work/binding/src/main/resources" -name libjllama.so | head -1)
[[ -n $library ]] || { echo "build-binding.sh: the build made no libjllama.so" >&2; exit 1; }
cp "$library" "$out/libjllama.so"
echo
echo "libjllama.so: $out/libjllama.so"
echo "edge.yaml:    engine:"
echo "                native_library: $out"
echo "or the JVM:   -Dde.kherud.llama.lib.path=$out   (e.g. JAVA_TOOL_OPTIONS=\"-Dde.kherud.llama.lib.path=$out\")"
