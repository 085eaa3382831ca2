"""The ticker app (app.toml): a driver task owning a timer through a window and its IRQ."""
