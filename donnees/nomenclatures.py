"""Nomenclatures : revêtements, types de site, statuts, validation, correspondance OCS GE.

Les tables sont des fichiers CSV de ``donnees/nomenclatures/`` avec leur source.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

DOSSIER_NOMENCLATURES = Path(__file__).resolve().parent / "nomenclatures"

STATUTS = {"programmee": "Programmée", "en_travaux": "En travaux", "realisee": "Réalisée"}
VALIDATIONS = {"a_valider": "À valider", "validee": "Validée", "a_corriger": "À corriger"}
MOMENTS_PHOTO = {"avant": "Avant", "apres": "Après"}
ROLES = {
    "administrateur": "Administrateur",
    "referent": "Référent commune",
    "financeur": "Financeur",
}
# Préfixe OCS GE des surfaces imperméables (CONCEPTION §3.1).
PREFIXE_IMPERMEABLE = "CS1.1.1"


@lru_cache(maxsize=None)
def lire_revetements() -> pd.DataFrame:
    """Table des revêtements (code, libellé, paramètres, source), indexée par code."""
    table = pd.read_csv(DOSSIER_NOMENCLATURES / "revetements.csv", dtype={"code": str})
    table["impermeable"] = table["impermeable"].eq("oui")
    return table.set_index("code")


@lru_cache(maxsize=None)
def lire_types_site() -> dict[str, str]:
    """Types de site : code → libellé."""
    table = pd.read_csv(DOSSIER_NOMENCLATURES / "types_site.csv", dtype=str)
    return dict(zip(table["code"], table["libelle"]))


@lru_cache(maxsize=None)
def lire_correspondance_ocsge() -> pd.DataFrame:
    """Correspondance OCS GE (``code_cs``, ``code_us`` facultatif) → code de revêtement."""
    return pd.read_csv(DOSSIER_NOMENCLATURES / "ocsge_revetements.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=None)
def lire_financeurs() -> list[str]:
    """Financeurs proposés par défaut à la saisie (le territoire y ajoute ceux déjà enregistrés)."""
    return pd.read_csv(DOSSIER_NOMENCLATURES / "financeurs.csv", dtype=str)["financeur"].tolist()


def codes_revetement() -> list[str]:
    """Codes de revêtement connus."""
    return list(lire_revetements().index)


def codes_impermeables() -> set[str]:
    """Codes de revêtement imperméables."""
    table = lire_revetements()
    return set(table.index[table["impermeable"]])
