"""The commands for people who rent boards: ``login``, ``boards``, ``submit``, ``read``,
``write``, ``release``, ``logs``, ``watch``, ``tunnel`` and ``mcp``, all on the SDK."""
