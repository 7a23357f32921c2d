"""The portal's web app (Starlette, Jinja2, plain forms, no script): `app.build(settings)`; `server.run` serves it."""
