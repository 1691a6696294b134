"""GESDENT sandbox: a server speaking GESDENT-CONTRACT.md (real HTTP Digest, seeded data of any
size, injectable faults) for Portico's sync tests, benchmark and quick start.

    from gesdent_sandbox import SandboxConfig, create_sandbox_app
"""

from gesdent_sandbox.app import Sandbox, create_sandbox_app
from gesdent_sandbox.config import (
    CREDENTIAL_FAMILIES,
    ENDPOINTS,
    REALM,
    RESERVATION_STATUSES,
    RESOURCE_KINDS,
    TREATMENT_CODES,
    Credential,
    SandboxConfig,
)
from gesdent_sandbox.faults import FAULT_MODES, FaultSpec
from gesdent_sandbox.mutate import MutationRequest

__all__ = [
    "CREDENTIAL_FAMILIES",
    "ENDPOINTS",
    "FAULT_MODES",
    "REALM",
    "RESERVATION_STATUSES",
    "RESOURCE_KINDS",
    "TREATMENT_CODES",
    "Credential",
    "FaultSpec",
    "MutationRequest",
    "Sandbox",
    "SandboxConfig",
    "create_sandbox_app",
]
