"""Git hooks: the face that keeps plain git (merge, pull, checkout, commit) safe for tenants.

`cinch init` and `cinch hooks install` write small shell hooks into `.git/hooks/` that run
``python -m git_hooks HOOK ARGS``; each hook calls the engine, exactly as the CLI would.
"""

HOOKS = ("pre-commit", "pre-merge-commit", "post-merge", "post-checkout", "post-rewrite")
MARKER = "# cinch hook"
