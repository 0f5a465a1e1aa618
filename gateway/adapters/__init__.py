"""I/O adapters: each owns its sockets, threads and tasks and drives a sans-I/O core object."""
