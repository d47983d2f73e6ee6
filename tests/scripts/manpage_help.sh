#!/usr/bin/env bash
# manpage_help.sh — docs/weightlint.1 against the program: every command of `weightlint --help`
# has a '.SS "weightlint CMD"' subsection naming each long option of `weightlint CMD --help`
# (as \-\-option), no subsection documents an option the command no longer has, the exit
# codes of `weightlint --help` are the man page's, the version in .TH is the VERSION file's,
# and groff (when installed) formats the page without a warning.
set -euo pipefail
WL=${WL:-build/weightlint}
MAN=docs/weightlint.1
bad=0
err() { echo "manpage_help: $*"; bad=1; }
cmds=$("$WL" --help | awk '/^Commands:/{f=1;next} f&&/^  [a-z]/{print $1} f&&/^$/{f=0}')
[ -n "$cmds" ] || { echo "manpage_help: no commands in weightlint --help"; exit 1; }
# long options as the man page spells them (roff \-\- and \-), one per line
man_opts() {
    awk -v h=".SS \"weightlint $1\"" '$0==h{f=1;next} f&&/^\.S[SH] /{f=0} f' "$MAN" |
        grep -oE '\\-\\-[a-z](\\-|[a-z])*' | sed 's/\\-/-/g' | sort -u
}
for c in $cmds; do
    grep -qx ".SS \"weightlint $c\"" "$MAN" || { err "no subsection .SS \"weightlint $c\""; continue; }
    help_opts=$("$WL" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
    documented=$(man_opts "$c")
    for o in $help_opts; do
        grep -qx -- "$o" <<<"$documented" || err "weightlint $c: $o is in --help but not in $MAN"
    done
    for o in $documented; do
        grep -qx -- "$o" <<<"$help_opts" || err "weightlint $c: $MAN documents $o, which --help lacks"
    done
done
# exit codes: each "  N  text" line of --help is an item of EXIT STATUS
for code in $("$WL" --help | awk '/^Exit codes/{f=1;next} f&&/^  [0-9] /{print $1}'); do
    awk '/^\.SH EXIT STATUS/{f=1;next} f&&/^\.SH /{f=0} f' "$MAN" | grep -qx ".B $code" ||
        err "exit code $code of --help is not in EXIT STATUS"
done
version=$(cat VERSION)
grep -q "^\.TH WEIGHTLINT 1 .*\"weightlint $version\"" "$MAN" || err ".TH does not say weightlint $version"
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1 || true)
    [ -z "$warnings" ] || err "groff: $warnings"
fi
[ $bad = 0 ] && echo "manpage_help: $MAN matches --help of: $(echo $cmds)"
exit $bad
