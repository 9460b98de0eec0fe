"""Schemathesis: every payments endpoint, fuzzed, answers within its schema and never with a 5xx."""

from saga_testing.api_docs import api_docs_test
from saga_testing.api_fuzz import schema_conformance_test

test_as_a_customer = schema_conformance_test(operator=False)
test_as_an_operator = schema_conformance_test(operator=True)
test_api_docs = api_docs_test()
