#!/bin/sh
# Provisions PyPy 3 for `make test-pypy` into .tools/pypy, once, without root:
# Debian's pypy3 and pypy3-lib packages are downloaded and unpacked (not installed), and
# the pure-Python test dependencies (and pip) are installed into that PyPy's own
# site-packages by the dev venv's pip, so that subprocesses running sys.executable see them.
# .tools/bin/pypy3 is a wrapper that runs it with its libraries and this checkout's
# package on the path. A stamp records what was provisioned; running again is a no-op.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$ROOT/.tools/pypy
WRAPPER=$ROOT/.tools/bin/pypy3
PIP=${PIP:-$ROOT/.venv/bin/pip}

# pytest, hypothesis and pycparser: the newest releases that still support Python 3.9
# (bookworm's PyPy 7.3.11 is Python 3.9); requirements-dev.txt pins newer ones that need
# 3.10+. pip evaluates dependency markers for the Python it runs on, not the target, so
# the backports that Python 3.9 needs are listed too.
REQUIREMENTS="pytest==8.4.2 hypothesis==6.141.1 pycparser==2.23 exceptiongroup==1.3.1 tomli==2.5.0 typing_extensions==4.15.0 pip==26.0.1"
# The wrapper holds absolute paths: a moved checkout provisions again.
STAMP_TEXT="debian pypy3 in $DEST; $REQUIREMENTS; wrapper 2"

if [ -x "$WRAPPER" ] && [ -f "$DEST/.ready" ] && [ "$(cat "$DEST/.ready")" = "$STAMP_TEXT" ]; then
    exit 0
fi

for tool in apt-get dpkg dpkg-architecture; do
    command -v "$tool" >/dev/null || { echo "tools/pypy.sh: needs $tool (a Debian system)" >&2; exit 1; }
done
[ -x "$PIP" ] || { echo "tools/pypy.sh: needs the dev venv's pip at $PIP (run make build)" >&2; exit 1; }

echo "tools/pypy.sh: provisioning PyPy 3 into $DEST"
WORK=$DEST.partial
rm -rf "$WORK"
mkdir -p "$WORK/debs"
if ! apt-cache show pypy3 >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q
    else
        echo "tools/pypy.sh: apt knows no package pypy3: run \`apt-get update\` as root first" >&2
        exit 1
    fi
fi
# apt-get warns that it cannot drop privileges to _apt for a folder _apt cannot write: harmless.
(cd "$WORK/debs" && apt-get download -q pypy3 pypy3-lib)
for deb in "$WORK"/debs/*.deb; do
    dpkg -x "$deb" "$WORK/root"
done

MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
LIBDIR=$WORK/root/usr/lib/$MULTIARCH
PYPY_PY=$(readlink "$WORK/root/usr/bin/pypy3" | sed -n 's/^pypy\([0-9.]*\)$/\1/p')  # pypy3 -> pypy3.9
[ -n "$PYPY_PY" ] && [ -e "$LIBDIR/libpypy$PYPY_PY-c.so" ] \
    || { echo "tools/pypy.sh: the pypy3 packages do not have the expected layout" >&2; exit 1; }
if LD_LIBRARY_PATH=$LIBDIR ldd "$WORK/root/usr/bin/pypy$PYPY_PY" 2>/dev/null | grep "not found" >&2; then
    echo "tools/pypy.sh: PyPy needs the system libraries above (apt-get install them)" >&2
    exit 1
fi

ABI=$(LD_LIBRARY_PATH=$LIBDIR "$WORK/root/usr/bin/pypy3" -c \
    'import sysconfig; print(sysconfig.get_config_var("SOABI").rsplit("-", 2)[0].replace("-", "_"))')
SITE=$(LD_LIBRARY_PATH=$LIBDIR "$WORK/root/usr/bin/pypy3" -c 'import site; print(site.getsitepackages()[0])')
case $SITE in "$WORK"/*) ;; *) echo "tools/pypy.sh: PyPy's site-packages $SITE is outside $WORK" >&2; exit 1 ;; esac
"$PIP" install --quiet --disable-pip-version-check --no-warn-script-location --target "$SITE" \
    --python-version "$PYPY_PY" --implementation pp --abi "$ABI" --platform "manylinux2014_$(uname -m)" \
    --only-binary=:all: $REQUIREMENTS

rm -rf "$WORK/debs" "$DEST"
mv "$WORK" "$DEST"

mkdir -p "$(dirname "$WRAPPER")"
cat >"$WRAPPER.tmp" <<EOF
#!/bin/sh
# Runs the PyPy that tools/pypy.sh unpacked, with its test dependencies and this checkout's
# package importable. Made by tools/pypy.sh.
LD_LIBRARY_PATH="$DEST/root/usr/lib/$MULTIARCH\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
PYTHONPATH="$ROOT/py\${PYTHONPATH:+:\$PYTHONPATH}"
export LD_LIBRARY_PATH PYTHONPATH
exec "$DEST/root/usr/bin/pypy3" "\$@"
EOF
chmod +x "$WRAPPER.tmp"
mv "$WRAPPER.tmp" "$WRAPPER"

"$WRAPPER" -c 'import sys, cffi, pytest, hypothesis; print("tools/pypy.sh: PyPy", sys.version.split()[0], "ready")' \
    || { echo "tools/pypy.sh: the provisioned PyPy does not work" >&2; exit 1; }
echo "$STAMP_TEXT" >"$DEST/.ready"
