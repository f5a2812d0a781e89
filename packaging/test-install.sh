#!/usr/bin/env bash
# Runs packaging/install.sh into a temporary DESTDIR (no user created) and checks what landed:
# the files and their modes, the example config's and the unit's paths, that the installed
# binary runs (--version) and validates the installed example config (--check, with its
# app_path pointing at the installed example app inside DESTDIR), and that a second run keeps
# an existing config. CI: packaging/test-install.sh (builds release binaries; CARGO_TARGET_DIR
# is honoured).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DESTDIR=$tmp/stage
export PREFIX=/opt/ringsocket
fail() {
    echo "test-install: FAIL: $*" >&2
    exit 1
}
mode_is() {
    local mode
    mode=$(stat -c %a "$1") || fail "$1 is missing"
    [ "$mode" = "$2" ] || fail "$1 has mode $mode, not $2"
}

"$root/packaging/install.sh" --no-user
d=$DESTDIR$PREFIX
mode_is "$d/bin/ringsocket" 755
mode_is "$d/include/ringsocket.h" 644
mode_is "$d/etc/ringsocket.json" 644
mode_is "$d/lib/ringsocket/libecho.so" 755
mode_is "$d/lib/systemd/system/ringsocket.service" 644
for doc in README.md configuration.md operations.md apps.md ringsocket.json.example; do
    mode_is "$d/share/doc/ringsocket/$doc" 644
done
cmp -s "$d/include/ringsocket.h" "$root/app-abi/include/ringsocket.h" || fail "ringsocket.h differs"
# Nothing outside PREFIX (the user was not created, nothing else written).
extra=$(cd "$DESTDIR" && find . -mindepth 1 -maxdepth 2 | grep -v '^\./opt' || true)
[ -z "$extra" ] || fail "files outside PREFIX: $extra"

# The unit and the config name the final paths (without DESTDIR).
unit=$d/lib/systemd/system/ringsocket.service
grep -qx 'Type=notify' "$unit" || fail "the unit is not Type=notify"
grep -qx "ExecStart=$PREFIX/bin/ringsocket $PREFIX/etc/ringsocket.json" "$unit" || fail "ExecStart: $(grep ExecStart= "$unit")"
grep -q "\"app_path\": \"$PREFIX/lib/ringsocket/libecho.so\"" "$d/etc/ringsocket.json" || fail "app_path not rewritten"
grep -q '/usr/local' "$unit" "$d/etc/ringsocket.json" && fail "a /usr/local path was left"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify --man=no "$unit" 2>&1 | grep -v -e 'Failed to' -e 'not executable' -e 'No such file' || true
fi

# The binary runs.
"$d/bin/ringsocket" --version | grep -q ringsocket || fail "--version"
# The example config validates once its app_path points into DESTDIR (as installed it names
# the final path). The run user may not exist here: that is a warning, not an error.
sed "s|$PREFIX/|$d/|g" "$d/etc/ringsocket.json" >"$tmp/check.json"
out=$("$d/bin/ringsocket" --check "$tmp/check.json" 2>&1) || fail "--check failed:
$out"
echo "$out"

# A second run keeps the operator's config.
echo '// edited by the operator' >>"$d/etc/ringsocket.json"
"$root/packaging/install.sh" --no-user --no-build >/dev/null
grep -q 'edited by the operator' "$d/etc/ringsocket.json" || fail "an existing config was overwritten"
echo "test-install: ok"
