#!/usr/bin/env bash
# Installs the lab's system parts from Debian (etcd, MariaDB, RabbitMQ, Keystone, Octavia and the
# uWSGI that serves its API, Alertmanager, the docker registry, HAProxy as the tenant router) and
# moto_server from PyPI into a venv in the cache. Idempotent.
set -euo pipefail
cache=${KACHIKU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kachiku}
here=$(cd "$(dirname "$0")/.." && pwd)
source "$(dirname "$0")/retry.sh"

packages=(etcd-server rabbitmq-server python3-keystone python3-octavia python3-openstackclient
  mariadb-server python3-pymysql uwsgi-core uwsgi-plugin-python3 prometheus-alertmanager
  docker-registry openssl git haproxy)
# chromium: the dashboard test's real browser (driven by playwright-core; no browser download).
packages+=(chromium)
# htpasswd -B, for the lab registry's basic auth (bcrypt, the only hash docker-registry takes).
packages+=(apache2-utils)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  # Packages must not start their own services: the lab starts every process itself.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  retry $sudo apt-get update -qq
  retry env DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# moto_server, pinned, in its own venv (the pyenv python, not Debian's).
venv="$cache/venv-moto"
req="$here/requirements-moto.txt"
stamp="$venv/.req-$(sha256sum "$req" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "installing moto_server into $venv" >&2
  python3 -m venv "$venv"
  retry "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  touch "$stamp"
fi
