"""The web dashboard and chat playground, served by `tunelab serve` at `/`.

Pages are Jinja2 shells (templates/) whose scripts (static/js/) call the server's own HTTP API,
the same one any program uses, so whatever the dashboard shows a program can do too.
`add_dashboard(app)` mounts the pages, the login routes and the static files on the API's app.
No build step: the front-end libraries are vendored under static/vendor/ with their licences.
"""

from tunelab.web.app import add_dashboard

__all__ = ["add_dashboard"]
