"""Git hooks: the face that keeps plain git (commit, merge, pull, checkout, cherry-pick, revert,
rebase, branch deletion, push) as safe for tenants as cinch's own verbs.

`cinch init` and `cinch hooks install` write small shell hooks into `.git/hooks/` that run
``python -m git_hooks HOOK ARGS`` (the list is ``cinch.engine.hooks.HOOKS``); `cinch hub init`
writes a pre-receive hook into a bare repository. Each hook calls the engine, exactly as the
CLI would.
"""
