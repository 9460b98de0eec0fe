"""The one request body parser of every service (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

DRF's JSON parser hands the body to ``json``, which recurses once per level of nesting: a body of a
few thousand ``[`` (well under the body size limit) raised RecursionError, a 500. This parser
measures the nesting first, without recursing, and refuses anything deeper than ``MAX_JSON_DEPTH``
with a 400, before ``json`` or a serializer recurses over it.
"""

import json
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from saga_common.json_depth import MAX_JSON_DEPTH, nesting_exceeds


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            # Bounded: BodySizeLimitMiddleware has refused bodies over the limit.
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if nesting_exceeds(text, MAX_JSON_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep")
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # cannot happen after the depth check; a 400 all the same if it did
            raise ParseError("JSON parse error - nested too deeply") from None
