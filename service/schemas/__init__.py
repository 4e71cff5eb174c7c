"""The shapes of the HTTP interface: request schemas, and response schemas beside
the functions that build each document."""
