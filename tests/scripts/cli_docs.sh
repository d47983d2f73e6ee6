#!/usr/bin/env bash
# docs/cli.md must document every long option of every command's --help (curl's
# docs/cmdline-opts idea): a '### --option' heading under '## weightlint <command>'.
set -euo pipefail
WL=${WL:-build/weightlint}
missing=0
cmds=$("$WL" --help | awk '/^Commands:/{f=1;next} f&&/^  [a-z]/{print $1} f&&/^$/{f=0}')
[ -n "$cmds" ] || { echo "no commands found in weightlint --help"; exit 1; }
for c in $cmds; do
    section=$(awk -v h="## weightlint $c" '$0==h{f=1;next} f&&/^## /{f=0} f' docs/cli.md)
    [ -n "$section" ] || { echo "docs/cli.md: no section '## weightlint $c'"; missing=1; continue; }
    for opt in $("$WL" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
        if ! grep -qx -- "### $opt" <<<"$section"; then
            echo "docs/cli.md: '## weightlint $c' lacks '### $opt'"
            missing=1
        fi
    done
done
exit $missing
