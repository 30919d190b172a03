"""JSON-Schemas of the /v2.1 request bodies (see refnova.api.validation)."""
