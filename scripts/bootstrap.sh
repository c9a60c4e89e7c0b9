# shellcheck shell=bash
# Shared set-up for scripts/test and scripts/demo; source it, do not run it.
#
# Works on a fresh Debian 12 as root (installs what is missing with apt) and
# on a developer machine without root (says what is missing and carries on).
# The venv lives in .venv at the repository root and is reinstalled only
# when pyproject.toml is newer than the last install.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_debian_packages PKG...: apt-get install the ones not installed yet.
ensure_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian system; skipping apt"; return 0; }
    local missing=() pkg
    for pkg in "$@"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages (install as root): ${missing[*]}"
        return 0
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_venv EXTRAS: create .venv if absent and pip install -e ".[EXTRAS]" when stale.
ensure_venv() {
    local extras="$1" spec="." stamp
    [ -n "$extras" ] && spec=".[$extras]"
    stamp="$VENV/.tui-pacs-installed${extras:+-$extras}"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$REPO_ROOT/pyproject.toml" -nt "$stamp" ]; then
        log "installing tui-pacs ($spec) into $VENV"
        (cd "$REPO_ROOT" && PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "$VENV/bin/python" -m pip install -q -e "$spec")
        touch "$stamp"
    fi
}
