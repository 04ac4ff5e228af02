"""The build/ caches: content-keyed store and the no-op receipt."""
