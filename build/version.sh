#!/bin/sh
# version.sh prints the version make stamps into the app (main.version,
# which qrlogin --version prints) and names its Debian package with: a
# valid Debian version, ordered as dpkg should order the builds.
#
#   on a tag vX.Y.Z           X.Y.Z
#   N commits after it        X.Y.Z+gitN.HASH
#   no tag yet                0.0.0~gitDATE.HASH (DATE: the commit's, UTC)
#   uncommitted changes       the above, then +dirty
#   not a git checkout        0.0.0~dev
#
# A hyphen in a tag (v1.0.0-rc1) becomes a tilde: 1.0.0~rc1 comes before
# 1.0.0, and a Debian upstream version holds no hyphen without a revision.
set -eu
cd "$(dirname "$0")/.."
d=$(git describe --tags --always --dirty --abbrev=7 --match 'v[0-9]*' 2>/dev/null) || { echo 0.0.0~dev; exit 0; }
dirty=
case $d in *-dirty) dirty=+dirty d=${d%-dirty} ;; esac
case $d in
v[0-9]*-[0-9]*-g[0-9a-f]*)
	hash=${d##*-g} rest=${d%-g*}
	v=$(printf %s "${rest%-*}" | sed 's/^v//; s/-/~/g')+git${rest##*-}.$hash ;;
v[0-9]*)
	v=$(printf %s "$d" | sed 's/^v//; s/-/~/g') ;;
*)
	v=0.0.0~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d).$d ;;
esac
echo "$v$dirty"
