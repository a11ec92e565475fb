#!/usr/bin/env bash
# Rebuilds dingtalk-jsapi-<version>.js, the browser bundle of DingTalk's JS SDK the console's in-app
# login (免登) uses, from the npm registry — never from DingTalk's CDN (genjin serves every asset itself).
# The package ships CommonJS modules only, so esbuild bundles them into one IIFE exposing window.dd.
# Licences: dingtalk-jsapi MIT (package.json "license"), promise-polyfill MIT (its LICENSE file).
set -euo pipefail
version="${1:-3.2.9}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact "dingtalk-jsapi@${version}" esbuild@0.24.0 >/dev/null
echo 'window.dd = require("dingtalk-jsapi");' > entry.js
npx esbuild entry.js --bundle --minify --format=iife --target=es2017 --legal-comments=none \
  --outfile="$here/dingtalk-jsapi-${version}.js"
sha256sum "$here/dingtalk-jsapi-${version}.js"
