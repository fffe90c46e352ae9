#!/usr/bin/env bash
# Fetches the third-party protos guanxi imports (googleapis' google/api) into
# third_party/protos, which is git-ignored: third-party source is never
# committed. The npm registry is reachable where the buf registry is not, and
# the google-proto-files package carries googleapis' protos.
set -euo pipefail
version="${GOOGLE_PROTO_FILES_VERSION:-6.0.1}"
files_rev=3 # bump when the copied file list changes
dest="third_party/protos"
stamp="$dest/.google-proto-files-$version-$files_rev"
[ -f "$stamp" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "google-proto-files@$version" >/dev/null 2>&1)
tar -xzf "$tmp"/google-proto-files-"$version".tgz -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest/google/api" "$dest/google/type" "$dest/google/rpc"
# Only what guanxi imports: the buf module compiles every file it holds.
for f in annotations http field_behavior; do
  cp "$tmp/package/google/api/$f.proto" "$dest/google/api/"
done
cp "$tmp/package/google/type/date.proto" "$dest/google/type/"
cp "$tmp/package/google/rpc/status.proto" "$dest/google/rpc/"
touch "$stamp"
