#!/usr/bin/env bash
# Installs every Debian 12 package mlvault needs to build, test and benchmark.
# Idempotent: apt-get skips what is already installed. Run as root (or via sudo).
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the peer tools the benchmarks compare against
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates curl python3 jq
  # libraries
  libssl-dev libzstd-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libsqlite3-dev sqlite3 libcpp-httplib-dev libcurl4-openssl-dev
  # backup plan schedules: IANA time zones (the OS tzdata, read through CCTZ)
  libcctz-dev tzdata
  # web console: node 18+ (bookworm has 18.20) and npm to build it
  nodejs
  # the PostgreSQL catalog (libpq) and the throw-away server its tests start
  libpq-dev libpqxx-dev postgresql-15
  # tests
  libgtest-dev libgmock-dev
  # web console tests: a headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
  # S3 backend tests: a throw-away Ceph RADOS Gateway (scripts/start-rgw.sh)
  ceph-mon ceph-osd radosgw ceph-common
  # ... and an independent S3 client that checks Object Lock past mlvault (tests/s3/s3_probe.py)
  python3-boto3
  # fuzzing (libFuzzer), thread-safety analysis and clang-tidy: clang 16 is the first Debian 12
  # clang that compiles libstdc++ 12's <expected>
  clang-16 libclang-rt-16-dev clang-tidy-16
  # vault fidelity tests: setfattr/getfattr, setfacl, setcap, chattr
  attr acl libcap2-bin e2fsprogs
  # btrfs snapshots for the consistent moment (libbtrfsutil) and the loop-mounted btrfs the
  # snapshot tests make (mkfs.btrfs, util-linux's mount/losetup)
  libbtrfsutil-dev btrfs-progs
)
# Debian's npm, unless an npm already comes with the installed node (e.g. a nodesource build,
# which conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(restic borgbackup time hyperfine)
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#PKGS[@]} packages present"
