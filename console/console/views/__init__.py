"""The console's pages, one module per area: session (sign-in), shop (the storefront), sagas,
messaging (health and dead letters), accounts, and errors."""
