"""The OpenAPI document of every route (`document`), with the wire-format routes' entries
in `formats`."""
