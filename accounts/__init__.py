"""Users, roles, login and access audit."""
