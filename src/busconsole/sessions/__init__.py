"""Sessions: what the TUI draws. A Session is a store plus a status and actions; live
(busconsole as a client), proxy (the tap), demo (tap + our own client) and file (a replay)."""
