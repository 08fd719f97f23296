# bash completion for tokenctl(1). Installed into bash-completion's
# completionsdir, loaded on first use. Written by hand (CLI11 has no
# generator); tests/tools/test_completion.py checks it against `tokenctl --help`.

_tokenctl_commands="ping start-flow auth-link process-redirect get-token refresh get-context set-context
clear-context sign-out grant-status list-users flow-maintenance stats export import reencrypt watch"
_tokenctl_global="-s --socket --json --timeout --integration -h --help --version"

_tokenctl_options() {
    case "$1" in
        start-flow) echo "--no-pkce" ;;
        get-context) echo "--refresh" ;;
        set-context) echo "--clear-refresh-token --force" ;;
        sign-out) echo "--no-revoke" ;;
        list-users) echo "--limit --cursor --all" ;;
        flow-maintenance) echo "--force" ;;
        export) echo "-o --output --without-refresh-tokens" ;;
        import) echo "--dry-run --force" ;;
        reencrypt) echo "--status" ;;
    esac
}

_tokenctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" command="" i word
    [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPREPLY=()
    # The command: the first word that is not an option or an option's value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        case "$word" in
            -s|--socket|--timeout|--integration|-o|--output|--limit|--cursor) ((i++)) ;;
            -*) ;;
            *) command="$word"; break ;;
        esac
    done
    case "$prev" in
        -s|--socket|-o|--output)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0 ;;
        --timeout|--integration|--limit|--cursor)
            return 0 ;;
    esac
    if [ -z "$command" ]; then
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "$_tokenctl_global" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_tokenctl_commands" -- "$cur"))
        fi
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_tokenctl_options "$command") $_tokenctl_global" -- "$cur"))
        return 0
    fi
    case "$command" in
        set-context|import) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return 0
}

complete -o filenames -F _tokenctl tokenctl
