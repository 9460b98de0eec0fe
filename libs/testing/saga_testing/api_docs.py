"""The API docs every service serves next to its schema: Swagger UI, its files from the service itself."""

import re
from collections.abc import Callable

from django.test import Client


def api_docs_test() -> Callable[[], None]:
    """A test that the docs page, its script and every file it loads answer 200, with no token."""

    def test_the_api_docs_are_served_with_their_own_files() -> None:
        client = Client()
        page = client.get("/api/docs/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "swagger-ui" in html
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert any("?script" in source for source in sources)  # the page's own script, not inline
        local = [source for source in sources if source.startswith("/")]
        assert any(source.endswith("swagger-ui-bundle.js") for source in local)
        assert not [source for source in sources if source.startswith("http")]  # no CDN
        for source in local:
            response = client.get(source)
            assert response.status_code == 200, source
        script = client.get("/api/docs/?script").content.decode()
        assert "/api/schema/" in script  # it loads this service's schema

    return test_the_api_docs_are_served_with_their_own_files
