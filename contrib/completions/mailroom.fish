function __mailroom_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailroom_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mailroom_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailroom_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mailroom_parse_tokens -S
    set -l unparsed_tokens (__mailroom_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mailroom'
        __mailroom_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'validate'
            __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'output=' 'version' 'h/help'
        case 'render'
            __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'units-dir=' 'secrets-file=' 'out=' 'explain' 'output=' 'version' 'h/help'
        case 'plan'
            __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'units-dir=' 'secrets-file=' 'output=' 'version' 'h/help'
        case 'diff'
            __mailroom_parse_subcommand 3 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'units-dir=' 'output=' 'all-hosts' 'version' 'h/help'
        case 'apply'
            __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'units-dir=' 'secrets-file=' 'y/yes' 'dry-run' 'health-timeout=' 'settle-time=' 'force' 'output=' 'rollback-on-failure' 'commit=' 'version' 'h/help'
        case 'history'
            __mailroom_parse_subcommand 0 'state-dir=' 'limit=' 'output=' 'version' 'h/help'
        case 'show'
            __mailroom_parse_subcommand 1 'state-dir=' 'output=' 'version' 'h/help'
        case 'rollback'
            __mailroom_parse_subcommand 0 'state-dir=' 'units-dir=' 'secrets-file=' 'host=' 'to=' 'y/yes' 'dry-run' 'health-timeout=' 'settle-time=' 'force' 'output=' 'listen=' 'version' 'h/help'
        case 'dkim'
            __mailroom_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'show'
                __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'output=' 'version' 'h/help'
            case 'rotate'
                __mailroom_parse_subcommand 2 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'activate' 'version' 'h/help'
            end
        case 'dns'
            __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'output=' 'zone=' 'check' 'resolver=' 'update' 'server=' 'secrets-file=' 'tsig-secret=' 'dry-run' 'version' 'h/help'
        case 'doctor'
            __mailroom_parse_subcommand 1 'repo=' 'branch=' 'path=' 'revision=' 'host=' 'token-file=' 'ssh-key=' 'known-hosts=' 'state-dir=' 'skip-outside' 'resolver=' 'dnsbl=+' 'output=' 'version' 'h/help'
        case 'agent'
            __mailroom_parse_subcommand 0 'config=' 'dry-run' 'log-level=' 'version' 'h/help'
        case 'status'
            __mailroom_parse_subcommand 0 'listen=' 'output=' 'version' 'h/help'
        case 'suspend'
            __mailroom_parse_subcommand 0 'state-dir=' 'reason=' 'output=' 'version' 'h/help'
        case 'resume'
            __mailroom_parse_subcommand 0 'state-dir=' 'listen=' 'output=' 'version' 'h/help'
        case 'help'
            __mailroom_parse_subcommand -r 1 'version'
        end
    end
end

function __mailroom_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mailroom_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __mailroom_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mailroom_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mailroom_tokens -p)
    if test -z "$(__mailroom_tokens -t)"
        set -l index (count (__mailroom_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mailroom' -f
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'validate' -d 'Check a spec and report every problem with file:line:column.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'render' -d 'Print the desired state: podman commands, files and units.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'plan' -d 'Preview what apply would change on this host.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'diff' -d 'Compare the desired state at two commits: containers, files and units. No host needed.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'apply' -d 'Make the host match the spec, in order, and record the rollout.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'history' -d 'List the rollouts recorded in the journal.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'show' -d 'Show one rollout and its steps.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'rollback' -d 'Re-apply the desired state of an earlier rollout.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'dkim' -d 'Show each mail domain\'s DKIM key and the DNS record it needs, or replace a key.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'dns' -d 'Every DNS record the mail domains need; check them live, or apply them by RFC 2136.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'doctor' -d 'Check this host before (and after) deploying: memory, podman, ports, firewall, TLS.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'agent' -d 'Keep the host in sync with the spec in git, until SIGTERM.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'status' -d 'Show what the running agent is doing.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'suspend' -d 'Stop the agent from syncing until `mailroom resume`.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'resume' -d 'Let the agent sync again (ends a suspend or a rollback pin).'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom validate" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom validate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom render" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" units-dir' -l 'units-dir' -d 'Where systemd units are installed.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" secrets-file' -l 'secrets-file' -d 'Local KEY=value file with the secrets the spec names (mode 0600).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" out' -l 'out' -d 'Write generated files and units under this directory.' -rfa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" explain' -l 'explain' -d 'Print what the profile expands the spec into (YAML for reading; not a spec).'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom render" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom plan" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" units-dir' -l 'units-dir' -d 'Where systemd units are installed.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" secrets-file' -l 'secrets-file' -d 'Local KEY=value file with the secrets the spec names (mode 0600).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom plan" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom diff" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" units-dir' -l 'units-dir' -d 'Where systemd units are installed (their paths are compared).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" all-hosts' -l 'all-hosts' -d 'Compare every host of the spec\'s hosts: section, one after the other.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom diff" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom apply" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" units-dir' -l 'units-dir' -d 'Where systemd units are installed.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" secrets-file' -l 'secrets-file' -d 'Local KEY=value file with the secrets the spec names (mode 0600).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" y yes' -l 'yes' -s 'y' -d 'Apply without asking.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" dry-run' -l 'dry-run' -d 'Print the plan and the steps it would run; change nothing.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" health-timeout' -l 'health-timeout' -d 'Seconds each started container may take to run and pass its health check.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" settle-time' -l 'settle-time' -d 'Seconds a started container without a health check must stay running before its wave counts as done.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" force' -l 'force' -d 'Allow lowering the Mailu version of a running deployment (Mailu upgrades cannot be undone).'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" rollback-on-failure' -l 'rollback-on-failure' -d 'After a failure, re-apply the last successful rollout (the agent always does).'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" commit' -l 'commit' -d 'The commit to record and label containers with (default: local:<hash of mailroom.yaml>).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom apply" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom history" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom history" limit' -l 'limit' -d 'Show only the last N rollouts.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom history" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom history" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom history" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom show" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom show" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom show" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" units-dir' -l 'units-dir' -d 'Where systemd units are installed.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" secrets-file' -l 'secrets-file' -d 'Local KEY=value file with the secrets the spec names (mode 0600).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" to' -l 'to' -d 'Rollout id (or unique prefix) or commit to return to.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" y yes' -l 'yes' -s 'y' -d 'Apply without asking.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" dry-run' -l 'dry-run' -d 'Print the plan and the steps it would run; change nothing.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" health-timeout' -l 'health-timeout' -d 'Seconds each started container may take to run and pass its health check.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" settle-time' -l 'settle-time' -d 'Seconds a started container without a health check must stay running before its wave counts as done.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" force' -l 'force' -d 'Allow lowering the Mailu version of a running deployment (Mailu upgrades cannot be undone).'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" listen' -l 'listen' -d 'The agent\'s listen address, to tell it about the pin: IP:PORT, or [IPV6]:PORT.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom rollback" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom dkim" -eq 1' -fa 'show' -d 'Each domain\'s DKIM key file and its TXT record (one string, and split for zone files).'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom dkim" -eq 1' -fa 'rotate' -d 'Replace a domain\'s DKIM key in two steps: prepare a new key, then activate it.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom dkim show" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom dkim rotate" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" activate' -l 'activate' -d 'Put the prepared key in place of the current one.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dkim rotate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom dns" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" output' -l 'output' -d 'Output format: table, zone or json.' -rfka 'table zone json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" zone' -l 'zone' -d 'Only the records at or below this zone.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" check' -l 'check' -d 'Query each record and report it ok, missing or wrong.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" resolver' -l 'resolver' -d 'The resolver --check asks, ADDRESS[:PORT] (default: /etc/resolv.conf\'s).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" update' -l 'update' -d 'Apply the records to an authoritative server by RFC 2136 dynamic update.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" server' -l 'server' -d 'The authoritative server --update changes, ADDRESS[:PORT].' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" secrets-file' -l 'secrets-file' -d 'KEY=value file holding the TSIG key (mode 0600).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" tsig-secret' -l 'tsig-secret' -d 'The secrets-file key whose value is the TSIG key.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" dry-run' -l 'dry-run' -d 'With --update: show the changes, send nothing.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom dns" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_positional "mailroom doctor" -eq 1' -fa '(__mailroom_complete_directories)'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" repo' -l 'repo' -d 'Read the spec from this git repository: a path, file://, https://, ssh:// or user@host:path.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" branch' -l 'branch' -d 'The branch to follow (default: main).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" path' -l 'path' -d 'The spec directory inside the repository (default: its root).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" revision' -l 'revision' -d 'Pin a commit, tag or branch instead of following --branch.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" host' -l 'host' -d 'Which of the spec\'s hosts: this machine is (default: its hostname; not needed for a single-host spec).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" token-file' -l 'token-file' -d 'File holding an access token for an https:// repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" ssh-key' -l 'ssh-key' -d 'Private key file for an ssh repository.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" known-hosts' -l 'known-hosts' -d 'known_hosts file for an ssh repository; unknown host keys are refused.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" skip-outside' -l 'skip-outside' -d 'Skip the checks that reach outside this host; they are listed as skipped.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" resolver' -l 'resolver' -d 'The resolver for the host\'s DNS checks, ADDRESS[:PORT]; named, they run also with --skip-outside.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor"' -l 'dnsbl' -d 'A DNS blacklist zone to look the public IP up in (repeatable).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom doctor" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom agent" config' -l 'config' -d 'The agent configuration file.' -rF
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom agent" dry-run' -l 'dry-run' -d 'Watch and record the plans it would apply in <state-dir>/dry-run.jsonl; change nothing.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom agent" log-level' -l 'log-level' -d 'Log level (trace, debug, info, notice, warning, error).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom agent" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom agent" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom status" listen' -l 'listen' -d 'The agent\'s listen address: IP:PORT, or [IPV6]:PORT.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom status" output' -l 'output' -d 'text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom status" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom suspend" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom suspend" reason' -l 'reason' -d 'Why, shown in status.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom suspend" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom suspend" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom suspend" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom resume" state-dir' -l 'state-dir' -d 'State directory (applied record, journal, git mirror).' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom resume" listen' -l 'listen' -d 'The agent\'s listen address: IP:PORT, or [IPV6]:PORT.' -rfka ''
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom resume" output' -l 'output' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom resume" version' -l 'version' -d 'Show the version.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom resume" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailroom' -n '__mailroom_should_offer_completions_for_flags_or_options "mailroom help" version' -l 'version' -d 'Show the version.'
