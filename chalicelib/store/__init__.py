from chalicelib.store import inbound_models  # noqa: F401  (registers its models)
