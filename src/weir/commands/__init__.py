"""`weir` subcommands, one module per topic."""
