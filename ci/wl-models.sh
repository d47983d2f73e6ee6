# wl-models.sh — shell functions shared by the GitHub Action (ci/action-entry.sh) and the
# pre-commit hook (ci/precommit-entry.sh): which ONNX models a set of changed files concerns
# (a model whose external-data file changed counts as changed), Git LFS pointer detection, and
# extracting the version of a model (with its external data) that a git ref holds, and the
# escaping of file names (which a pull request chooses) for workflow commands and the log.
# Sourced, not run; needs bash, git, grep and sed. docs/ci.md describes the behaviour.

# Largest .onnx searched for external-data references. A model that stores its weights
# externally keeps only the graph in the .onnx (small); a bigger file holds its weights inline.
WL_MAX_GRAPH_BYTES=${WL_MAX_GRAPH_BYTES:-67108864}

# Untrusted text (file names) in a workflow command: GitHub's escapes for the message (gh_data)
# and for a property such as file= (gh_prop), so a name holding a newline or "::" cannot end
# the command or start another one.
gh_data() {
    local s=${1//'%'/%25}
    s=${s//$'\r'/%0D}
    printf '%s' "${s//$'\n'/%0A}"
}
gh_prop() {
    local s
    s=$(gh_data "$1")
    s=${s//:/%3A}
    printf '%s' "${s//,/%2C}"
}
# A file name for the log: control characters (newline, CR, ESC...) shown as '?'.
show() { printf '%s' "${1//[[:cntrl:]]/?}"; }
show_list() {
    local sep="" f
    for f in "$@"; do printf '%s%s' "$sep" "$(show "$f")"; sep=", "; done
}
# Lines of weightlint's own output (which quotes file names) that would read as workflow
# commands are defused: only this script issues commands.
defuse() { sed 's/^\([[:space:]]*\)::/\1: :/'; }

# wl_glob_models GLOBS: the files the space/newline-separated globs match (`**` allowed), each
# once, in order (the action's `models` input).
wl_glob_models() {
    local pat f
    shopt -s globstar nullglob
    for pat in $1; do
        for f in $pat; do [ -f "$f" ] && printf '%s\n' "$f"; done
    done
    shopt -u globstar nullglob
}

# wl_is_lfs_pointer FILE: true when FILE is a Git LFS pointer (the spec's first line).
wl_is_lfs_pointer() {
    [ -f "$1" ] && [ "$(head -c 39 -- "$1" 2>/dev/null)" = "version https://git-lfs.github.com/spec" ]
}

# wl_small_file FILE: true when FILE is at most WL_MAX_GRAPH_BYTES long.
wl_small_file() {
    local size
    size=$(wc -c <"$1" 2>/dev/null) || return 1
    [ "$size" -le "$WL_MAX_GRAPH_BYTES" ]
}

# wl_unique0: NUL-separated names on stdin, each printed once (first occurrence), NUL-separated.
wl_unique0() {
    local -A seen=()
    local f
    while IFS= read -r -d '' f; do
        [ -n "$f" ] && [ -z "${seen[$f]:-}" ] || continue
        seen[$f]=1
        printf '%s\0' "$f"
    done
}

# wl_models_for_data FILE: prints the tracked .onnx files of the working tree that name FILE
# (a repository path) as external data: models in FILE's folder or an ancestor folder whose
# bytes contain FILE's path relative to that folder (ONNX stores external_data locations as
# plain strings, relative to the model's folder).
wl_models_for_data() {
    local file=$1 dir rel model end=${2:-\n}
    dir=$(dirname -- "$file")
    rel=$(basename -- "$file")
    while :; do
        local spec=":(glob)*.onnx"
        [ "$dir" != "." ] && spec=":(glob)$dir/*.onnx"
        while IFS= read -r -d '' model; do
            [ -n "$model" ] && [ -f "$model" ] || continue
            wl_small_file "$model" || continue
            if grep -a -q -F -- "$rel" "$model"; then
                printf "%s$end" "$model"
            fi
        done < <(git -c core.quotePath=false ls-files -z -- "$spec" 2>/dev/null)
        [ "$dir" = "." ] && break
        rel="$(basename -- "$dir")/$rel"
        dir=$(dirname -- "$dir")
    done
}

# wl_index_for_shard FILE: prints the tracked *.safetensors.index.json files of FILE's folder
# whose weight_map names FILE (a shard of a sharded checkpoint), NUL-terminated.
wl_index_for_shard() {
    local file=$1 dir spec idx
    dir=$(dirname -- "$file")
    spec=":(glob)*.safetensors.index.json"
    [ "$dir" != "." ] && spec=":(glob)$dir/*.safetensors.index.json"
    while IFS= read -r -d '' idx; do
        [ -n "$idx" ] && [ -f "$idx" ] || continue
        grep -a -q -F -- "\"$(basename -- "$file")\"" "$idx" && printf '%s\0' "$idx"
    done < <(git -c core.quotePath=false ls-files -z -- "$spec" 2>/dev/null)
}

# wl_checkpoints_only: filters a NUL-separated list of model files, dropping the safetensors
# shards that an index of their folder names (the index stands for the checkpoint).
wl_checkpoints_only() {
    local f
    while IFS= read -r -d '' f; do
        case $f in
        *.safetensors) [ -n "$(wl_index_for_shard "$f" | tr -d '\0')" ] && continue ;;
        esac
        printf '%s\0' "$f"
    done
}

# wl_changed_models [-z] FILE...: the models among FILE... (that exist): .onnx files,
# safetensors checkpoints (a shard stands for the index that names it, an index for itself),
# plus the ONNX models that reference any of the other files as external data; each printed
# once, in order, one per line, or NUL-terminated with -z (file names may hold newlines).
wl_changed_models() {
    local f end='\n' idx
    [ "${1:-}" = -z ] && { end='\0'; shift; }
    {
        for f in "$@"; do
            case $f in
            *.onnx | *.safetensors.index.json) [ -f "$f" ] && printf '%s\0' "$f" ;;
            *.safetensors)
                idx=$(wl_index_for_shard "$f" | tr '\0' '\n')
                if [ -n "$idx" ]; then
                    wl_index_for_shard "$f"
                elif [ -f "$f" ]; then
                    printf '%s\0' "$f"
                fi
                ;;
            *) wl_models_for_data "$f" '\0' ;;
            esac
        done
    } | wl_unique0 | if [ "$end" = '\0' ]; then cat; else tr '\0' '\n'; fi
}

# wl_extract_base REF PATH DEST: writes the version of model PATH at git ref REF to DEST/PATH,
# with every file of PATH's folder (and below) at REF whose path the model names as external
# data. LFS files are smudged when git-lfs can (git cat-file --filters). Returns 0 when done,
# 1 when REF has no PATH (a new model), 2 when the model or one of its data files is still a
# Git LFS pointer (LFS objects not fetched), 3 on another git failure.
wl_extract_base() {
    local ref=$1 path=$2 dest=$3 dir out f rel status=0
    git cat-file -e "$ref:$path" 2>/dev/null || return 1
    out="$dest/$path"
    mkdir -p -- "$(dirname -- "$out")" || return 3
    git cat-file --filters "$ref:$path" >"$out" 2>/dev/null ||
        git cat-file blob "$ref:$path" >"$out" 2>/dev/null || return 3
    wl_is_lfs_pointer "$out" && status=2
    wl_small_file "$out" || return $status
    dir=$(dirname -- "$path")
    local prefix=""
    [ "$dir" != "." ] && prefix="$dir/"
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        rel=${f#"$prefix"}
        case $f in *.onnx) continue ;; esac # a shard named by an index is data like this
        grep -a -q -F -- "$rel" "$out" || continue
        mkdir -p -- "$(dirname -- "$dest/$f")" || return 3
        git cat-file --filters "$ref:$f" >"$dest/$f" 2>/dev/null ||
            git cat-file blob "$ref:$f" >"$dest/$f" 2>/dev/null || return 3
        wl_is_lfs_pointer "$dest/$f" && status=2
    done < <(git ls-tree -r --name-only "$ref" -- "${prefix:-.}" 2>/dev/null)
    return $status
}
