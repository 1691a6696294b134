"""HTTP routes, one module per resource: parse, authorize, call a service, shape the response."""
