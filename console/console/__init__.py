"""The storefront and operator console."""
