# bash completion for kindling. Generated from its argparse parsers by `make docs`;
# do not edit. Install: copy to /usr/share/bash-completion/completions/kindling,
# or `source` it from ~/.bashrc.

_kindling_subcommands() {
    case "$1" in
        '') echo 'boot analyze status support-bundle apiserver apiclient early-boot-config netdog growpart gpu kdump bootconfig cfsignal warm-pool-wait lifecycle units clean bootstrap templates settings validate' ;;
        'apiclient') echo 'get set apply raw' ;;
        'netdog') echo 'generate-net-config validate write-primary-interface-status node-ip generate-hostname set-hostname write-resolv-conf apply dhcp' ;;
        'gpu') echo 'detect match-driver link-modules load-modules inventory' ;;
        'kdump') echo 'plan load capture status' ;;
        'bootconfig') echo 'show parse generate reboot-if-required install' ;;
        'lifecycle') echo 'complete' ;;
        'units') echo 'install' ;;
        'bootstrap') echo 'run-command run-container host-container' ;;
        'templates') echo 'list render' ;;
        'settings') echo 'describe' ;;
        *) return 1 ;;
    esac
}

_kindling_options() {
    case "$1" in
        '') echo '--help --version' ;;
        'boot') echo '--help --platform --full --root --plan --dry-run --json --log-format --log-level' ;;
        'analyze') echo '--help --svg --root --json --log-format --log-level' ;;
        'status') echo '--help --wait --timeout --root --json --log-format --log-level' ;;
        'support-bundle') echo '--help -o --output --root --plan --dry-run --json --log-format --log-level' ;;
        'apiserver') echo '--help --socket-path --allow-uid --root --log-format --log-level' ;;
        'apiclient') echo '--help --socket-path --direct --root --log-format --log-level' ;;
        'apiclient get') echo '--help --root --log-format --log-level' ;;
        'apiclient set') echo '--help --json --root --log-format --log-level' ;;
        'apiclient apply') echo '--help --root --log-format --log-level' ;;
        'apiclient raw') echo '--help -m --method -u --uri -d --data --root --log-format --log-level' ;;
        'early-boot-config') echo '--help --platform --root --plan --dry-run --json --log-format --log-level' ;;
        'netdog') echo '--help' ;;
        'netdog generate-net-config') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'netdog validate') echo '--help --root --json --log-format --log-level' ;;
        'netdog write-primary-interface-status') echo '--help --networkctl-json --root --plan --dry-run --json --log-format --log-level' ;;
        'netdog node-ip') echo '--help --root --json --log-format --log-level' ;;
        'netdog generate-hostname') echo '--help --platform --no-reverse-dns --root --json --log-format --log-level' ;;
        'netdog set-hostname') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'netdog write-resolv-conf') echo '--help --netdog-toml --no-reload --root --plan --dry-run --json --log-format --log-level' ;;
        'netdog apply') echo '--help --timeout --root --plan --dry-run --json --log-format --log-level' ;;
        'netdog dhcp') echo '--help --root --plan --dry-run --log-format --log-level' ;;
        'growpart') echo '--help --device --partition --label --no-fs --missing-ok --lock-timeout --root --plan --dry-run --json --log-format --log-level' ;;
        'gpu') echo '--help' ;;
        'gpu detect') echo '--help --root --json --log-format --log-level' ;;
        'gpu match-driver') echo '--help --root --log-format --log-level' ;;
        'gpu link-modules') echo '--help --modules-set -d --driver-config-path --kernel-version --root --plan --dry-run --json --log-format --log-level' ;;
        'gpu load-modules') echo '--help --modules-set -d --driver-config-path --kernel-version --neuron --root --plan --dry-run --json --log-format --log-level' ;;
        'gpu inventory') echo '--help --root --json --log-format --log-level' ;;
        'kdump') echo '--help' ;;
        'kdump plan') echo '--help --reserve --root --plan --dry-run --json --log-format --log-level' ;;
        'kdump load') echo '--help --disable-kexec-load --root --plan --dry-run --json --log-format --log-level' ;;
        'kdump capture') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'kdump status') echo '--help --root --json --log-format --log-level' ;;
        'bootconfig') echo '--help' ;;
        'bootconfig show') echo '--help --format --root --json --log-format --log-level' ;;
        'bootconfig parse') echo '--help --commit --if-unset --root --plan --dry-run --json --log-format --log-level' ;;
        'bootconfig generate') echo '--help --output --root --plan --dry-run --json --log-format --log-level' ;;
        'bootconfig reboot-if-required') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'bootconfig install') echo '--help --loader --initrd --kernel-release --root --plan --dry-run --json --log-format --log-level' ;;
        'cfsignal') echo '--help --status --timeout --root --plan --dry-run --json --log-format --log-level' ;;
        'warm-pool-wait') echo '--help --interval --timeout --root --plan --dry-run --json --log-format --log-level' ;;
        'lifecycle') echo '--help' ;;
        'lifecycle complete') echo '--help --result --timeout --heartbeat --root --plan --dry-run --json --log-format --log-level' ;;
        'units') echo '--help' ;;
        'units install') echo '--help --unit-dir --exec --enable --root --plan --dry-run --json --log-format --log-level' ;;
        'clean') echo '--help --first-boot --root --plan --dry-run --json --log-format --log-level' ;;
        'bootstrap') echo '--help' ;;
        'bootstrap run-command') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'bootstrap run-container') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'bootstrap host-container') echo '--help --root --plan --dry-run --json --log-format --log-level' ;;
        'templates') echo '--help' ;;
        'templates list') echo '--help --root --json --log-format --log-level' ;;
        'templates render') echo '--help --user-data --root --plan --dry-run --json --log-format --log-level' ;;
        'settings') echo '--help' ;;
        'settings describe') echo '--help --root --json --log-format --log-level' ;;
        'validate') echo '--help --kind --platform --root --json --log-format --log-level' ;;
        *) return 1 ;;
    esac
}

_kindling_option_values() {
    case "$1" in
        'boot:--platform') echo 'auto aws vmware metal' ;;
        'boot:--root') echo '@dir' ;;
        'boot:--log-format') echo 'text json' ;;
        'boot:--log-level') echo 'debug info warning error' ;;
        'analyze:--svg') echo '@file' ;;
        'analyze:--root') echo '@dir' ;;
        'analyze:--log-format') echo 'text json' ;;
        'analyze:--log-level') echo 'debug info warning error' ;;
        'status:--timeout') echo '' ;;
        'status:--root') echo '@dir' ;;
        'status:--log-format') echo 'text json' ;;
        'status:--log-level') echo 'debug info warning error' ;;
        'support-bundle:-o') echo '@file' ;;
        'support-bundle:--output') echo '@file' ;;
        'support-bundle:--root') echo '@dir' ;;
        'support-bundle:--log-format') echo 'text json' ;;
        'support-bundle:--log-level') echo 'debug info warning error' ;;
        'apiserver:--socket-path') echo '@file' ;;
        'apiserver:--allow-uid') echo '' ;;
        'apiserver:--root') echo '@dir' ;;
        'apiserver:--log-format') echo 'text json' ;;
        'apiserver:--log-level') echo 'debug info warning error' ;;
        'apiclient:--socket-path') echo '@file' ;;
        'apiclient:--root') echo '@dir' ;;
        'apiclient:--log-format') echo 'text json' ;;
        'apiclient:--log-level') echo 'debug info warning error' ;;
        'apiclient get:--root') echo '@dir' ;;
        'apiclient get:--log-format') echo 'text json' ;;
        'apiclient get:--log-level') echo 'debug info warning error' ;;
        'apiclient set:--json') echo '' ;;
        'apiclient set:--root') echo '@dir' ;;
        'apiclient set:--log-format') echo 'text json' ;;
        'apiclient set:--log-level') echo 'debug info warning error' ;;
        'apiclient apply:--root') echo '@dir' ;;
        'apiclient apply:--log-format') echo 'text json' ;;
        'apiclient apply:--log-level') echo 'debug info warning error' ;;
        'apiclient raw:-m') echo '' ;;
        'apiclient raw:--method') echo '' ;;
        'apiclient raw:-u') echo '' ;;
        'apiclient raw:--uri') echo '' ;;
        'apiclient raw:-d') echo '' ;;
        'apiclient raw:--data') echo '' ;;
        'apiclient raw:--root') echo '@dir' ;;
        'apiclient raw:--log-format') echo 'text json' ;;
        'apiclient raw:--log-level') echo 'debug info warning error' ;;
        'early-boot-config:--platform') echo 'auto aws vmware metal' ;;
        'early-boot-config:--root') echo '@dir' ;;
        'early-boot-config:--log-format') echo 'text json' ;;
        'early-boot-config:--log-level') echo 'debug info warning error' ;;
        'netdog generate-net-config:--root') echo '@dir' ;;
        'netdog generate-net-config:--log-format') echo 'text json' ;;
        'netdog generate-net-config:--log-level') echo 'debug info warning error' ;;
        'netdog validate:--root') echo '@dir' ;;
        'netdog validate:--log-format') echo 'text json' ;;
        'netdog validate:--log-level') echo 'debug info warning error' ;;
        'netdog write-primary-interface-status:--networkctl-json') echo '@file' ;;
        'netdog write-primary-interface-status:--root') echo '@dir' ;;
        'netdog write-primary-interface-status:--log-format') echo 'text json' ;;
        'netdog write-primary-interface-status:--log-level') echo 'debug info warning error' ;;
        'netdog node-ip:--root') echo '@dir' ;;
        'netdog node-ip:--log-format') echo 'text json' ;;
        'netdog node-ip:--log-level') echo 'debug info warning error' ;;
        'netdog generate-hostname:--platform') echo 'auto aws vmware metal' ;;
        'netdog generate-hostname:--root') echo '@dir' ;;
        'netdog generate-hostname:--log-format') echo 'text json' ;;
        'netdog generate-hostname:--log-level') echo 'debug info warning error' ;;
        'netdog set-hostname:--root') echo '@dir' ;;
        'netdog set-hostname:--log-format') echo 'text json' ;;
        'netdog set-hostname:--log-level') echo 'debug info warning error' ;;
        'netdog write-resolv-conf:--netdog-toml') echo '@file' ;;
        'netdog write-resolv-conf:--root') echo '@dir' ;;
        'netdog write-resolv-conf:--log-format') echo 'text json' ;;
        'netdog write-resolv-conf:--log-level') echo 'debug info warning error' ;;
        'netdog apply:--timeout') echo '' ;;
        'netdog apply:--root') echo '@dir' ;;
        'netdog apply:--log-format') echo 'text json' ;;
        'netdog apply:--log-level') echo 'debug info warning error' ;;
        'netdog dhcp:--root') echo '@dir' ;;
        'netdog dhcp:--log-format') echo 'text json' ;;
        'netdog dhcp:--log-level') echo 'debug info warning error' ;;
        'growpart:--device') echo '@file' ;;
        'growpart:--partition') echo '' ;;
        'growpart:--label') echo '' ;;
        'growpart:--lock-timeout') echo '' ;;
        'growpart:--root') echo '@dir' ;;
        'growpart:--log-format') echo 'text json' ;;
        'growpart:--log-level') echo 'debug info warning error' ;;
        'gpu detect:--root') echo '@dir' ;;
        'gpu detect:--log-format') echo 'text json' ;;
        'gpu detect:--log-level') echo 'debug info warning error' ;;
        'gpu match-driver:--root') echo '@dir' ;;
        'gpu match-driver:--log-format') echo 'text json' ;;
        'gpu match-driver:--log-level') echo 'debug info warning error' ;;
        'gpu link-modules:--modules-set') echo '' ;;
        'gpu link-modules:-d') echo '@dir' ;;
        'gpu link-modules:--driver-config-path') echo '@dir' ;;
        'gpu link-modules:--kernel-version') echo '' ;;
        'gpu link-modules:--root') echo '@dir' ;;
        'gpu link-modules:--log-format') echo 'text json' ;;
        'gpu link-modules:--log-level') echo 'debug info warning error' ;;
        'gpu load-modules:--modules-set') echo '' ;;
        'gpu load-modules:-d') echo '@dir' ;;
        'gpu load-modules:--driver-config-path') echo '@dir' ;;
        'gpu load-modules:--kernel-version') echo '' ;;
        'gpu load-modules:--root') echo '@dir' ;;
        'gpu load-modules:--log-format') echo 'text json' ;;
        'gpu load-modules:--log-level') echo 'debug info warning error' ;;
        'gpu inventory:--root') echo '@dir' ;;
        'gpu inventory:--log-format') echo 'text json' ;;
        'gpu inventory:--log-level') echo 'debug info warning error' ;;
        'kdump plan:--root') echo '@dir' ;;
        'kdump plan:--log-format') echo 'text json' ;;
        'kdump plan:--log-level') echo 'debug info warning error' ;;
        'kdump load:--root') echo '@dir' ;;
        'kdump load:--log-format') echo 'text json' ;;
        'kdump load:--log-level') echo 'debug info warning error' ;;
        'kdump capture:--root') echo '@dir' ;;
        'kdump capture:--log-format') echo 'text json' ;;
        'kdump capture:--log-level') echo 'debug info warning error' ;;
        'kdump status:--root') echo '@dir' ;;
        'kdump status:--log-format') echo 'text json' ;;
        'kdump status:--log-level') echo 'debug info warning error' ;;
        'bootconfig show:--format') echo 'compact list canonical' ;;
        'bootconfig show:--root') echo '@dir' ;;
        'bootconfig show:--log-format') echo 'text json' ;;
        'bootconfig show:--log-level') echo 'debug info warning error' ;;
        'bootconfig parse:--root') echo '@dir' ;;
        'bootconfig parse:--log-format') echo 'text json' ;;
        'bootconfig parse:--log-level') echo 'debug info warning error' ;;
        'bootconfig generate:--output') echo '@file' ;;
        'bootconfig generate:--root') echo '@dir' ;;
        'bootconfig generate:--log-format') echo 'text json' ;;
        'bootconfig generate:--log-level') echo 'debug info warning error' ;;
        'bootconfig reboot-if-required:--root') echo '@dir' ;;
        'bootconfig reboot-if-required:--log-format') echo 'text json' ;;
        'bootconfig reboot-if-required:--log-level') echo 'debug info warning error' ;;
        'bootconfig install:--loader') echo 'auto grub systemd-boot none' ;;
        'bootconfig install:--initrd') echo '@file' ;;
        'bootconfig install:--kernel-release') echo '' ;;
        'bootconfig install:--root') echo '@dir' ;;
        'bootconfig install:--log-format') echo 'text json' ;;
        'bootconfig install:--log-level') echo 'debug info warning error' ;;
        'cfsignal:--status') echo 'SUCCESS FAILURE' ;;
        'cfsignal:--timeout') echo '' ;;
        'cfsignal:--root') echo '@dir' ;;
        'cfsignal:--log-format') echo 'text json' ;;
        'cfsignal:--log-level') echo 'debug info warning error' ;;
        'warm-pool-wait:--interval') echo '' ;;
        'warm-pool-wait:--timeout') echo '' ;;
        'warm-pool-wait:--root') echo '@dir' ;;
        'warm-pool-wait:--log-format') echo 'text json' ;;
        'warm-pool-wait:--log-level') echo 'debug info warning error' ;;
        'lifecycle complete:--result') echo 'CONTINUE ABANDON' ;;
        'lifecycle complete:--timeout') echo '' ;;
        'lifecycle complete:--heartbeat') echo '' ;;
        'lifecycle complete:--root') echo '@dir' ;;
        'lifecycle complete:--log-format') echo 'text json' ;;
        'lifecycle complete:--log-level') echo 'debug info warning error' ;;
        'units install:--unit-dir') echo '@dir' ;;
        'units install:--exec') echo '@file' ;;
        'units install:--root') echo '@dir' ;;
        'units install:--log-format') echo 'text json' ;;
        'units install:--log-level') echo 'debug info warning error' ;;
        'clean:--root') echo '@dir' ;;
        'clean:--log-format') echo 'text json' ;;
        'clean:--log-level') echo 'debug info warning error' ;;
        'bootstrap run-command:--root') echo '@dir' ;;
        'bootstrap run-command:--log-format') echo 'text json' ;;
        'bootstrap run-command:--log-level') echo 'debug info warning error' ;;
        'bootstrap run-container:--root') echo '@dir' ;;
        'bootstrap run-container:--log-format') echo 'text json' ;;
        'bootstrap run-container:--log-level') echo 'debug info warning error' ;;
        'bootstrap host-container:--root') echo '@dir' ;;
        'bootstrap host-container:--log-format') echo 'text json' ;;
        'bootstrap host-container:--log-level') echo 'debug info warning error' ;;
        'templates list:--root') echo '@dir' ;;
        'templates list:--log-format') echo 'text json' ;;
        'templates list:--log-level') echo 'debug info warning error' ;;
        'templates render:--user-data') echo '@file' ;;
        'templates render:--root') echo '@dir' ;;
        'templates render:--log-format') echo 'text json' ;;
        'templates render:--log-level') echo 'debug info warning error' ;;
        'settings describe:--root') echo '@dir' ;;
        'settings describe:--log-format') echo 'text json' ;;
        'settings describe:--log-level') echo 'debug info warning error' ;;
        'validate:--kind') echo 'userdata net driver bootconfig' ;;
        'validate:--platform') echo 'aws vmware metal' ;;
        'validate:--root') echo '@dir' ;;
        'validate:--log-format') echo 'text json' ;;
        'validate:--log-level') echo 'debug info warning error' ;;
        *) return 1 ;;
    esac
}

_kindling_arguments() {
    case "$1" in
        'apiclient apply') echo '@file' ;;
        'netdog validate') echo '@file' ;;
        'bootconfig show') echo '@file' ;;
        'bootconfig parse') echo '@file' ;;
        'validate') echo '@file' ;;
        'settings describe') echo 'motd. aws. cloudformation. autoscaling. network. dns. ntp. kernel. boot. kdump. gpu. pki. kubernetes. ecs. container-registry. container-runtime. oci-defaults. oci-hooks. updates. metrics. host-containers. bootstrap-containers. bootstrap-commands.' ;;
        *) return 1 ;;
    esac
}

_kindling() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local node="" word i found
    COMPREPLY=()
    # the command path so far: words that are subcommands of what precedes them;
    # an option that takes a value skips it
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* ]]; then
            if [[ $word != *=* ]] && _kindling_option_values "$node:$word" >/dev/null; then
                ((i++))
            fi
            continue
        fi
        if found=$(_kindling_subcommands "$node") && [[ " $found " == *" $word "* ]]; then
            node=${node:+$node }$word
        fi
    done
    if [[ $prev == -* && $COMP_CWORD -gt 1 ]] && found=$(_kindling_option_values "$node:$prev"); then
        case "$found" in
            @file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            @dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            *) mapfile -t COMPREPLY < <(compgen -W "$found" -- "$cur") ;;
        esac
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_kindling_options "$node")" -- "$cur")
    elif found=$(_kindling_subcommands "$node"); then
        mapfile -t COMPREPLY < <(compgen -W "$found" -- "$cur")
    elif found=$(_kindling_arguments "$node"); then
        case "$found" in
            @file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            @dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            *) compopt -o nospace 2>/dev/null; mapfile -t COMPREPLY < <(compgen -W "$found" -- "$cur") ;;
        esac
    fi
    return 0
}

complete -F _kindling kindling
