"""What every request passes through: keys and roles, problem details, JSON,
logs and metrics, page cursors."""
