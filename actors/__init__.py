"""The actor runtime: arena supervisor, agent actors, batching event writer and the Arena API."""
