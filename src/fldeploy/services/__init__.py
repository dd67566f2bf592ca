"""What several verbs share, below the verbs: Foundry facts, the port scan, the rendered stack, deploying it,
the container-side checks, fixes, confirmation, the support bundle. Services call core and adapters."""
