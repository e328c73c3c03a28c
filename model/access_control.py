"""Twin of snekmate's auth/access_control.vy: roles, their admins, reasons.

A mixin for model contracts (the Timelock, model/timelock.py). Roles are
32-byte `bytes`; `hasRole` is keyed by (role, account) as the contract's
nested HashMap is, `getRoleAdmin` by role. Granting a role one already has,
or revoking one not held, writes and logs nothing, as on chain.
"""
from dataclasses import dataclass

from .errors import require
from .events import Event
from .journal import external

DEFAULT_ADMIN_ROLE = bytes(32)
# ERC-165 ids the module answers (its _SUPPORTED_INTERFACES).
_SUPPORTED_INTERFACES = (bytes.fromhex("01ffc9a7"), bytes.fromhex("7965db0b"))


@dataclass(frozen=True, slots=True)
class RoleAdminChanged(Event):
    role: bytes
    previousAdminRole: bytes
    newAdminRole: bytes


@dataclass(frozen=True, slots=True)
class RoleGranted(Event):
    role: bytes
    account: str
    sender: str


@dataclass(frozen=True, slots=True)
class RoleRevoked(Event):
    role: bytes
    account: str
    sender: str


class AccessControl:
    DEFAULT_ADMIN_ROLE = DEFAULT_ADMIN_ROLE

    def __init__(self, *, sender: str):
        """Twin of access_control.__init__: the deployer gets the admin role."""
        self.hasRole = self.mapping(False, arity=2)          # (role, account) -> bool
        self.getRoleAdmin = self.mapping(DEFAULT_ADMIN_ROLE)   # role -> its admin role
        self._grant_role(DEFAULT_ADMIN_ROLE, sender, sender=sender)

    def supportsInterface(self, interface_id: bytes) -> bool:
        return interface_id in _SUPPORTED_INTERFACES

    @external
    def grantRole(self, role: bytes, account: str, *, sender: str) -> None:
        self._check_role(self.getRoleAdmin[role], sender)
        self._grant_role(role, account, sender=sender)

    @external
    def revokeRole(self, role: bytes, account: str, *, sender: str) -> None:
        self._check_role(self.getRoleAdmin[role], sender)
        self._revoke_role(role, account, sender=sender)

    @external
    def renounceRole(self, role: bytes, account: str, *, sender: str) -> None:
        require(account == sender, "access_control: can only renounce roles for itself")
        self._revoke_role(role, account, sender=sender)

    @external
    def set_role_admin(self, role: bytes, admin_role: bytes, *, sender: str) -> None:
        self._check_role(self.getRoleAdmin[role], sender)
        self._set_role_admin(role, admin_role)

    def _check_role(self, role: bytes, account: str) -> None:
        require(self.hasRole[(role, account)], "access_control: account is missing role")

    def _set_role_admin(self, role: bytes, admin_role: bytes) -> None:
        previous = self.getRoleAdmin[role]
        self.getRoleAdmin[role] = admin_role
        self._emit(RoleAdminChanged(role, previous, admin_role))

    def _grant_role(self, role: bytes, account: str, *, sender: str) -> None:
        if not self.hasRole[(role, account)]:
            self.hasRole[(role, account)] = True
            self._emit(RoleGranted(role, account, sender))

    def _revoke_role(self, role: bytes, account: str, *, sender: str) -> None:
        if self.hasRole[(role, account)]:
            self.hasRole[(role, account)] = False
            self._emit(RoleRevoked(role, account, sender))
