"""One Powertools `Router` per feature (metrics, alerts, files, formats, prometheus), joined into the one
resolver by `weir.http.app.build_app` with `include_router`. A route module imports the
shared helpers of `weir.http.responses`, never the app module."""
