#!/usr/bin/env bash
# Installs the benchmark's peers that are not Debian packages, smtp4dev (NuGet, as a .NET tool)
# and MailDev (npm), into a cache folder outside the repository; Postfix, aiosmtpd and Dovecot come
# from tools/install-deps.sh. Idempotent: a peer already in the cache is left as it is.
# The folder: $ACTORMAIL_BENCH_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/actormail-bench (tools/bench/targets.py reads the same).
set -euo pipefail

cache="${ACTORMAIL_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/actormail-bench}"
smtp4dev_dir="$cache/smtp4dev-3.15.0"
maildev_dir="$cache/maildev-3.0.0"
mkdir -p "$cache"

if [ ! -x "$smtp4dev_dir/smtp4dev" ]; then
  echo "install-peers: smtp4dev 3.15.0 into $smtp4dev_dir"
  rm -rf "$smtp4dev_dir"
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet tool install Rnwood.Smtp4dev --version 3.15.0 --tool-path "$smtp4dev_dir" >/dev/null
fi

if [ ! -f "$maildev_dir/node_modules/maildev/dist/bin/maildev.js" ]; then
  echo "install-peers: MailDev 3.0.0 into $maildev_dir"
  rm -rf "$maildev_dir"
  mkdir -p "$maildev_dir"
  # --prefix keeps the package out of any package.json found above the cache folder.
  npm install --prefix "$maildev_dir" --no-audit --no-fund --loglevel=error maildev@3.0.0 >/dev/null
fi
