#!/bin/sh
# install-deps.sh - installs the Debian 12 packages fragscope builds and tests with.
# Quiet and quick when everything is there.
set -e
PKGS="clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev pkg-config make gcc g++ \
libjemalloc-dev libjemalloc2 libtcmalloc-minimal4 libgoogle-perftools4 libgoogle-perftools-dev \
libmimalloc2.0 libmimalloc-dev libc6-dev binutils tmux jq util-linux \
libsqlite3-dev sqlite3 libzstd-dev libmicrohttpd-dev prometheus libprotobuf-c-dev protobuf-c-compiler protobuf-compiler golang-github-google-pprof-dev golang-go chromium libclang-rt-14-dev libncurses-dev bpftrace heaptrack python3.11"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
