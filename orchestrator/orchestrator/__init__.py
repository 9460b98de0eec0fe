"""The saga orchestrator: runs the PlaceOrder saga and lets operators inspect and unstick sagas."""
