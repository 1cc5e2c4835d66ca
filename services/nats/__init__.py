"""The service's NATS set-up: its users and permissions, the embedded server, and how each
process gets its credentials."""
