"""`xltool serve`: the county's collection portal, a thin layer over the xltool library.

Townships open their own link, download their personalised template, upload returns and see the check at once; the
county reviews (接收 / 退回 with a comment), follows who has reported and compiles from the accepted versions.

Rooms, each over the ones below it (import-linter contract in pyproject.toml):
- `cli`: the `xltool serve` command group (the web stack is imported only by the commands that run it);
- `web`: the Starlette app — pages, sessions, authorisation in one place, upload limits;
- `service`: what the county and the units do (tasks, uploads and checks, reviews, roll-ups, users, audit);
- `portal`: the data folder and the database (SQLite in WAL, or PostgreSQL), migrations applied at start;
- `models`, `words`, `secrets`: tables, the words every view uses, tokens and passwords.

Importing this package loads nothing heavy; `pip install 'xltool[serve]'` brings the web and database libraries.
"""
