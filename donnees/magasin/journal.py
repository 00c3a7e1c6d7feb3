"""Lignes du journal des changements et horodatage UTC (sans fuseau)."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np


def _maintenant() -> datetime:
    """Heure courante en UTC, sans fuseau."""
    return datetime.now(UTC).replace(tzinfo=None)


def _jsonable(valeur: Any) -> Any:
    """Valeur écrivable en JSON (dates en ISO, scalaires numpy en Python, infinis en ``None``)."""
    if isinstance(valeur, (datetime, date)):
        return valeur.isoformat()
    if isinstance(valeur, np.generic):
        return valeur.item()
    if isinstance(valeur, float) and not math.isfinite(valeur):
        return None
    return valeur


def _ligne_journal(horodatage: datetime, auteur: str, action: str, table_cible: str,
                   enregistrement_id: int, diff: dict) -> dict:
    """Ligne de la table ``journal`` (``diff`` en JSON)."""
    return {"horodatage": horodatage, "auteur": auteur, "action": action, "table_cible": table_cible,
            "enregistrement_id": int(enregistrement_id),
            "diff": json.dumps(diff, ensure_ascii=False, default=str)}
