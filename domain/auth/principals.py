"""Who is calling: the workspace, the user behind the key, and what their role allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    SALES = "sales"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    WRITE_CUSTOMERS = "write_customers"
    DELETE_CUSTOMERS = "delete_customers"
    MANAGE_KEYS = "manage_keys"
    RUN_JOBS = "run_jobs"
    MANAGE_SETTINGS = "manage_settings"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.SALES: frozenset({Permission.READ, Permission.WRITE_CUSTOMERS}),
    Role.OPS: frozenset({Permission.READ, Permission.WRITE_CUSTOMERS, Permission.RUN_JOBS}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    user_id: str
    role: Role
    key_id: str

    def can(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"role {self.role.value} may not {permission.value.replace('_', ' ')}")
