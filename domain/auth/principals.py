"""Who is calling: the workspace, the user behind the key, and what their role allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
    READ_SENSITIVE = "read_sensitive"
    DEFINE_SEGMENTS = "define_segments"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    # Sales see birth dates, income, personality and sensitive attributes, of their own customers only.
    Role.SALES: frozenset({Permission.READ, Permission.WRITE_CUSTOMERS, Permission.READ_SENSITIVE}),
    Role.OPS: frozenset({Permission.READ, Permission.WRITE_CUSTOMERS, Permission.RUN_JOBS, Permission.DEFINE_SEGMENTS}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class CustomerScope:
    """The customers a caller may see: its workspace, and for sales only the customers it owns."""

    workspace_id: str
    owner_id: str | None = None

    def query(self) -> dict[str, Any]:
        base: dict[str, Any] = {"workspace_id": self.workspace_id}
        if self.owner_id is not None:
            base["owner_id"] = self.owner_id
        return base


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    user_id: str
    role: Role
    key_id: str

    @property
    def scope(self) -> CustomerScope:
        return CustomerScope(self.workspace_id, self.user_id if self.role == Role.SALES else None)

    def can(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"role {self.role.value} may not {permission.value.replace('_', ' ')}")
