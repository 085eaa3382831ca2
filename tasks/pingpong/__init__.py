"""The pingpong app (app.toml): a client, a server and the supervisor that restarts it."""
