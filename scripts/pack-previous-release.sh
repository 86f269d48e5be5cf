#!/usr/bin/env bash
# Packs the built JavaScript of an earlier release (a commit of this repository) into
# test/fixtures/previous-release/<commit>.tgz, for test/upgrade-from-previous-release.test.ts: nodes of
# that release's own code write a Redis under load, then nodes of this checkout take over from them.
# The tarball holds node_modules/@mailroom/{protocol,server,client,cli} (package.json, bin, dist/**/*.js,
# lua); extracted inside this checkout, their third-party dependencies resolve to the checkout's own.
#
#   scripts/pack-previous-release.sh 1fefdf9
set -euo pipefail

commit=${1:?usage: scripts/pack-previous-release.sh <commit>}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git -C "$root" archive "$commit" packages tsconfig.base.json tsconfig.json | tar -x -C "$work"
mkdir -p "$work/node_modules/@mailroom"
for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
  [ "$(basename "$entry")" = "@mailroom" ] || ln -s "$entry" "$work/node_modules/$(basename "$entry")"
done
for package in protocol server client cli; do
  ln -s "../../packages/$package" "$work/node_modules/@mailroom/$package"
done
(cd "$work" && "$root/node_modules/.bin/tsc" -b packages/protocol packages/server packages/client &&
  "$root/node_modules/.bin/tsc" -b packages/cli)

out="$work/out/node_modules/@mailroom"
for package in protocol server client cli; do
  source="$work/packages/$package"
  mkdir -p "$out/$package"
  cp "$source/package.json" "$out/$package/"
  (cd "$source" && find dist -name '*.js' -exec cp --parents {} "$out/$package/" \;)
  [ -d "$source/bin" ] && cp -r "$source/bin" "$out/$package/"
  [ -d "$source/lua" ] && cp -r "$source/lua" "$out/$package/"
done
echo "$commit" > "$work/out/COMMIT"
mkdir -p "$root/test/fixtures/previous-release"
tar -czf "$root/test/fixtures/previous-release/$commit.tgz" -C "$work/out" COMMIT node_modules
ls -l "$root/test/fixtures/previous-release/$commit.tgz"
