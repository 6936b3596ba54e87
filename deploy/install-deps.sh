#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian bookworm (as root): the -dev
# libraries, test tools, Chromium for the browser tests, Java 17 and Maven for the real Kafka
# stack, and the npm packages of package.json.
# Packages already present are not reinstalled, so running it twice is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libevhtp-dev libevent-dev libjansson-dev libcurl4-openssl-dev libssl-dev libonig-dev zlib1g-dev
  libhiredis-dev redis-server
  libcmocka-dev python3 python3-pytest python3-yaml
  chromium prometheus wrk curl clang libclang-rt-14-dev nginx-light ca-certificates
)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# The real-stack tests and `demo.sh --real` run Apache Kafka and Jolokia (Java 17, via Maven).
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f package-lock.json ]; then
  # Reinstall only when the lock file changed since the last install.
  stamp=node_modules/.kc-lock-sha
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
fi
