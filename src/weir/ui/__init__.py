"""The built-in web UI: its front-end source (`web/`, built by `make ui`) and the built
files (`dist/`, generated and git-ignored), served under `/ui/` by `weir serve` and the `api`
Lambda through the one route table (`weir.http.routes.ui`)."""
