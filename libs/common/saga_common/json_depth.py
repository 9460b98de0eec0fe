"""How deep a JSON text nests, measured without recursing (Python's ``json`` recurses once per level).

A few thousand ``[`` fit well under any size limit and make ``json.loads`` raise RecursionError. The
REST parser (``saga_common.web.parsers``) and the envelope parser
(``saga_common.messaging.envelope``) both measure
first and refuse anything deeper than ``MAX_JSON_DEPTH``.
"""

import re

# Our deepest body (an order: object, items list, item object) has 3 levels; 32 is generous.
MAX_JSON_DEPTH = 32

# Outside strings: what opens or closes a level, or starts a string.
_OUTSIDE = re.compile(r'[\[\]{}"]')
# The rest of a string after its opening quote, up to the closing one (a backslash escapes the next
# character). Possessive, so an unterminated string fails in one pass instead of backtracking.
_STRING_TAIL = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than ``limit`` levels deep.

    Linear, and stops at the first level too many; strings are skipped whole (brackets in them are
    text). On invalid JSON the answer may be either, but harmlessly: ``json`` reads strings the same
    way, so it fails on the text no deeper than this scan had got.
    """
    if text.count("[") + text.count("{") <= limit:  # most bodies: decided at C speed
        return False
    depth = 0
    position = 0
    while match := _OUTSIDE.search(text, position):
        char, position = match.group(), match.end()
        if char == '"':
            tail = _STRING_TAIL.match(text, position)
            if tail is None:  # unterminated: not JSON
                return False
            position = tail.end()
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
