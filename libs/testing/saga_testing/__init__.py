"""Dev-only test support shared by every suite: never installed in a service's image.

- ``plugin``: the pytest plugin (a real broker per run, fresh topics per test, clients with tokens);
- ``kafka``: put records on a topic by hand, read topics, run a consumer until something is true;
- ``messages``: wrap messages as the tests' own sender, deliver them through the inbox, read the outbox;
- ``saga_spec``: a saga definition read as a specification (given data, expect this command to that
  topic; given this reply, expect that one);
- ``api_fuzz``: schemathesis against a service's own OpenAPI schema;
- ``malformed``: what a request no endpoint may take (NUL, lone surrogates, malformed filters) gets;
- ``typecheck_settings``: every app installed at once, for mypy's Django plugin only.
"""
