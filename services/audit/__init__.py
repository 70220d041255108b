"""AI-audit meetings into a client "Claude Code OS" pack: extraction (Claude or rules) then generation."""

from services.audit.extract import AuditExtractionError, extract_heuristic, extract_with_claude
from services.audit.generator import GeneratedPack, available_industries, generate_client_os
from services.audit.schema import AuditExtraction

__all__ = [
    "AuditExtraction",
    "AuditExtractionError",
    "GeneratedPack",
    "available_industries",
    "extract_heuristic",
    "extract_with_claude",
    "generate_client_os",
]
