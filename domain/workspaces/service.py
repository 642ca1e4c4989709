"""Workspaces and their people: created by the CLI and the demo loader, read by every request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.auth.keys import ApiKeyService, IssuedKey
from domain.auth.principals import Permission, Principal, Role
from domain.errors import ErrorCode, FieldError, InvalidInput, NotFound
from domain.money import is_known_currency
from domain.workspaces.models import DEFAULT_CLASS_SETTINGS, User, Workspace
from domain.workspaces.repository import WorkspaceRepository


@dataclass(frozen=True, slots=True)
class NewWorkspace:
    workspace: Workspace
    admin: User
    admin_key: IssuedKey


class WorkspaceService:
    def __init__(self, workspaces: WorkspaceRepository, keys: ApiKeyService) -> None:
        self._workspaces = workspaces
        self._keys = keys

    async def create(
        self,
        name: str,
        *,
        currency: str = "VND",
        country: str = "VN",
        admin_name: str = "admin",
        admin_token: str | None = None,
        workspace_id: str | None = None,
    ) -> NewWorkspace:
        errors = []
        if not name.strip() or len(name) > 200:
            errors.append(FieldError("name", ErrorCode.INVALID_LENGTH, "name must have 1 to 200 characters"))
        if not is_known_currency(currency):
            errors.append(FieldError("currency", ErrorCode.UNKNOWN_CURRENCY, f"unknown currency {currency!r}"))
        if errors:
            raise InvalidInput(errors)
        workspace = await self._workspaces.insert(
            name.strip(), currency, country.upper(), DEFAULT_CLASS_SETTINGS, workspace_id
        )
        admin = await self._workspaces.insert_user(workspace.id, admin_name)
        key = await self._keys.issue(workspace.id, admin.id, Role.ADMIN, f"{admin_name} (first admin)", admin_token)
        return NewWorkspace(workspace, admin, key)

    async def add_user_with_key(self, workspace_id: str, user_name: str, role: Role) -> tuple[User, IssuedKey]:
        if await self._workspaces.get(workspace_id) is None:
            raise NotFound(f"no workspace {workspace_id!r}", field="workspace")
        user = await self._workspaces.insert_user(workspace_id, user_name)
        key = await self._keys.issue(workspace_id, user.id, role, f"{user_name} ({role.value})")
        return user, key

    async def add_user(self, workspace_id: str, user_name: str) -> User:
        return await self._workspaces.insert_user(workspace_id, user_name)

    async def users(self, workspace_id: str) -> list[User]:
        return await self._workspaces.list_users(workspace_id)

    async def users_by_ids(self, principal: Principal, user_ids: Iterable[str]) -> dict[str, User]:
        """Owners shown next to customers: any reader of the workspace may see its users' names."""
        principal.require(Permission.READ)
        return await self._workspaces.users_by_ids(principal.workspace_id, user_ids)

    async def get(self, workspace_id: str) -> Workspace:
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            raise NotFound(f"no workspace {workspace_id!r}")
        return workspace
