"""Plan, apply and notify stages: the pure diff, guards, safe-order apply, storage backends, status."""
