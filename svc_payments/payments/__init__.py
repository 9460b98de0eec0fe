"""The payments service: customer credit accounts; authorize, void, capture and refund payments."""
