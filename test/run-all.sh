#!/usr/bin/env bash
# The test command: installs what is missing, builds with -Werror twice (release, and
# ASan+UBSan), runs the unit tests on the release build and every test (unit, integration
# against the real binaries and against real Apache Kafka Connect + Jolokia, browser e2e) on
# the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh

jobs=$(nproc)
py=/usr/bin/python3  # Debian's python3 has python3-pytest; a pyenv one may not
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKC_WERROR=ON \
  -DPython3_EXECUTABLE=$py >/dev/null
cmake --build build/release -j"$jobs"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DKC_WERROR=ON \
  -DKC_SANITIZE=address,undefined -DPython3_EXECUTABLE=$py >/dev/null
cmake --build build/asan -j"$jobs"

# The real stack's pinned jars (Kafka, Jolokia) through Maven, once; the machine's ~/.m2 keeps
# them. Without Maven Central the real-stack tests fail below, each with one clear line.
$py test/real/stack.py fetch || echo "real stack: jars not fetched; the real-stack tests will fail"

ctest --test-dir build/release -L unit --output-on-failure -j"$jobs"
ctest --test-dir build/asan --output-on-failure -j"$jobs" --timeout 900
