#!/usr/bin/env bash
# Builds and installs RingSocket (see docs/operations.md, "Install").
#
#   packaging/install.sh [--no-user] [--no-build]
#
# Environment:
#   PREFIX   where it goes (default /usr/local): PREFIX/bin/ringsocket,
#            PREFIX/include/ringsocket.h, PREFIX/etc/ringsocket.json (an example, never
#            overwritten), PREFIX/lib/ringsocket/libecho.so (the example app),
#            PREFIX/lib/systemd/system/ringsocket.service, PREFIX/share/doc/ringsocket/.
#   SYSCONFDIR  where ringsocket.json goes (default PREFIX/etc; /etc when PREFIX is /usr).
#   DESTDIR  a staging root prepended to every path (packaging, tests); the paths written into
#            the unit and the example config are the final ones, without DESTDIR.
#   RINGSOCKET_NO_USER=1  same as --no-user: do not create the "ringsock" system user.
#   CARGO_TARGET_DIR      cargo's target directory (default: target/ in the workspace).
#   CARGO    the cargo to run (default: cargo).
#
# --no-build installs binaries built before (CARGO_TARGET_DIR/release).
# With PREFIX=/usr, the unit goes to /usr/lib/systemd/system (the distribution's place);
# otherwise systemd only finds PREFIX/lib/systemd/system/ringsocket.service after
#   systemctl link PREFIX/lib/systemd/system/ringsocket.service   (or a copy in /etc/systemd/system).
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
if [ "$PREFIX" = /usr ]; then
    SYSCONFDIR=${SYSCONFDIR:-/etc}
else
    SYSCONFDIR=${SYSCONFDIR:-$PREFIX/etc}
fi
DESTDIR=${DESTDIR:-}
no_user=${RINGSOCKET_NO_USER:-0}
build=1
for arg in "$@"; do
    case $arg in
        --no-user) no_user=1 ;;
        --no-build) build=0 ;;
        -h | --help)
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
            exit 0
            ;;
        *)
            echo "install.sh: unknown argument $arg (try --help)" >&2
            exit 2
            ;;
    esac
done
case $PREFIX in
    /*) ;;
    *)
        echo "install.sh: PREFIX must be an absolute path, not $PREFIX" >&2
        exit 2
        ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$root/target}

if [ "$build" = 1 ]; then
    echo "install.sh: building (release)"
    (cd "$root" && "$cargo" build --release --locked -p ringsocket-daemon -p echo-app)
fi
bin=$target/release/ringsocket
app=$target/release/libecho.so
for f in "$bin" "$app"; do
    if [ ! -f "$f" ]; then
        echo "install.sh: $f is missing (build first, or drop --no-build)" >&2
        exit 1
    fi
done

dest=$DESTDIR$PREFIX
etcdir=$DESTDIR$SYSCONFDIR
# The final paths, in the example config and the unit.
paths() {
    sed -e "s|/usr/local/etc/|$SYSCONFDIR/|g" -e "s|/usr/local/|$PREFIX/|g" "$1"
}
docdir=$dest/share/doc/ringsocket
unitdir=$dest/lib/systemd/system
echo "install.sh: installing into $dest"
install -d -m 0755 "$dest/bin" "$dest/include" "$etcdir" "$dest/lib/ringsocket" "$unitdir" "$docdir"
install -m 0755 "$bin" "$dest/bin/ringsocket"
install -m 0644 "$root/app-abi/include/ringsocket.h" "$dest/include/ringsocket.h"
install -m 0755 "$app" "$dest/lib/ringsocket/libecho.so"

# The example config, with the final paths; an existing one is the operator's and stays.
config=$etcdir/ringsocket.json
if [ -e "$config" ]; then
    echo "install.sh: $config exists: left as it is (the example is in $docdir/ringsocket.json.example)"
else
    paths "$root/packaging/ringsocket.json" >"$config.tmp"
    chmod 0644 "$config.tmp"
    mv "$config.tmp" "$config"
fi
paths "$root/packaging/ringsocket.json" >"$docdir/ringsocket.json.example"
chmod 0644 "$docdir/ringsocket.json.example"

paths "$root/packaging/ringsocket.service" >"$unitdir/ringsocket.service"
chmod 0644 "$unitdir/ringsocket.service"

for doc in README.md docs/configuration.md docs/operations.md docs/apps.md docs/architecture.md; do
    if [ -f "$root/$doc" ]; then
        install -m 0644 "$root/$doc" "$docdir/$(basename "$doc")"
    fi
done

if [ "$no_user" = 1 ]; then
    echo "install.sh: not creating the ringsock user (--no-user)"
elif id ringsock >/dev/null 2>&1; then
    echo "install.sh: user ringsock exists"
else
    if [ "$(id -u)" != 0 ]; then
        echo "install.sh: creating the ringsock user needs root (or use --no-user)" >&2
        exit 1
    fi
    useradd --system --no-create-home --shell /usr/sbin/nologin ringsock
    echo "install.sh: created the system user ringsock"
fi

echo "install.sh: done. Check the configuration:  $PREFIX/bin/ringsocket --check $SYSCONFDIR/ringsocket.json"
case $PREFIX in
    /usr) echo "install.sh: then: systemctl daemon-reload && systemctl enable --now ringsocket" ;;
    *) echo "install.sh: then: systemctl link $PREFIX/lib/systemd/system/ringsocket.service && systemctl enable --now ringsocket" ;;
esac
