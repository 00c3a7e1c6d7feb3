"""Paramètres des modèles : valeurs par défaut du projet, surchargées par le territoire.

- ``indicateurs/parametres/modele.csv`` : code, valeur, unité, libellé, bornes, source ;
- ``donnees/nomenclatures/revetements.csv`` : paramètres par revêtement (C, albédo, ombre, kc, espace vert) ;
- ``donnees/nomenclatures/ocsge_revetements.csv`` : correspondance OCS GE → revêtements.

Chargés et validés une fois ; une valeur hors bornes lève :class:`ErreurDonnees` qui nomme le fichier et la
ligne.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from donnees.erreurs import ErreurDonnees
from donnees.nomenclatures import (
    BORNES_REVETEMENTS,
    DOSSIER_NOMENCLATURES,
    lire_correspondance_ocsge,
    lire_revetements,
)
from donnees.validation import lire_csv_valide, nombre_entre, texte_non_vide

FICHIER_MODELE = Path(__file__).resolve().parent / "parametres" / "modele.csv"
# calibrage de l'estimation de chaleur par site sur le modèle sur grille (indicateurs.chaleur_abords)
FICHIER_CHALEUR_SITE = Path(__file__).resolve().parent / "parametres" / "chaleur_site.csv"
COLONNES_REVETEMENTS = BORNES_REVETEMENTS  # bornes physiques des paramètres par revêtement (nom historique)
def _dans_bornes(table: pd.DataFrame) -> pd.Series:
    return (table["minimum"] <= table["valeur"]) & (table["valeur"] <= table["maximum"])


SCHEMA_PARAMETRES = pa.DataFrameSchema({
    "code": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9_]+$", error="code en minuscules ASCII et « _ »"),
                      unique=True),
    "valeur": pa.Column(float, coerce=True, nullable=False),
    "unite": pa.Column(str),
    "libelle": pa.Column(str, texte_non_vide("libellé")),
    "minimum": pa.Column(checks=nombre_entre(-math.inf, math.inf)),
    "maximum": pa.Column(checks=nombre_entre(-math.inf, math.inf)),
    "source": pa.Column(str, texte_non_vide("source")),
}, checks=pa.Check(_dans_bornes, error="« valeur » hors des bornes [« minimum » ; « maximum »]"))


@lru_cache(maxsize=None)
def lire_table_parametres(chemin: Path = FICHIER_MODELE) -> pd.DataFrame:
    """Table des paramètres de modèle (indexée par code), validée : valeur numérique dans ses bornes."""
    table = lire_csv_valide(chemin, SCHEMA_PARAMETRES, couche=chemin.name,
                            correction=f"Corrigez {chemin.name} (une valeur numérique entre minimum et maximum, "
                                       "une source pour chaque paramètre).", dtype={"code": str})
    return table.set_index("code")


@dataclass(frozen=True)
class Parametres:
    """Paramètres en vigueur pour un territoire (valeurs en unités du fichier ``modele.csv``)."""

    valeurs: tuple[tuple[str, float], ...]

    def __getitem__(self, code: str) -> float:
        return dict(self.valeurs)[code]

    def en_dict(self) -> dict[str, float]:
        return dict(self.valeurs)


def lire_parametres(surcharges: dict | None = None) -> Parametres:
    """Paramètres par défaut, surchargés par ceux du territoire (clé ``parametres`` de territoire.json).

    Une surcharge inconnue ou hors bornes lève :class:`ErreurDonnees`.
    """
    table = lire_table_parametres()
    valeurs = table["valeur"].to_dict()
    for code, valeur in (surcharges or {}).items():
        if code not in table.index:
            raise ErreurDonnees(f"Paramètre du territoire inconnu : « {code} » (connus : "
                                f"{', '.join(table.index)}).", "territoire", code)
        try:
            valeur = float(valeur)
        except (TypeError, ValueError):
            raise ErreurDonnees(f"Paramètre du territoire « {code} » : valeur « {valeur} » non numérique.",
                                "territoire", code) from None
        if not table.at[code, "minimum"] <= valeur <= table.at[code, "maximum"]:
            raise ErreurDonnees(f"Paramètre du territoire « {code} » = {valeur} hors des bornes "
                                f"[{table.at[code, 'minimum']} ; {table.at[code, 'maximum']}].",
                                "territoire", code)
        valeurs[code] = valeur
    return Parametres(tuple(sorted(valeurs.items())))


@lru_cache(maxsize=None)
def lire_parametres_revetements() -> pd.DataFrame:
    """Paramètres par revêtement (indexés par code), validés dans leurs bornes physiques (schéma pandera de
    :data:`donnees.nomenclatures.SCHEMA_REVETEMENTS`, bornes de :data:`COLONNES_REVETEMENTS`)."""
    return lire_revetements()


def lire_correspondance_revetements() -> pd.DataFrame:
    """Correspondance OCS GE → revêtements, vérifiée : chaque revêtement cité existe."""
    table = lire_correspondance_ocsge()
    connus = set(lire_revetements().index)
    for index, code in table["revetement"].items():
        if code not in connus:
            raise ErreurDonnees(f"Fichier ocsge_revetements.csv, ligne {index + 2} : revêtement « {code} » "
                                f"inconnu (connus : {', '.join(sorted(connus))}).", "ocsge_revetements.csv",
                                "revetement", [index])
    return table


FICHIERS_PARAMETRES = {
    "modele": FICHIER_MODELE,
    "revetements": DOSSIER_NOMENCLATURES / "revetements.csv",
    "ocsge_revetements": DOSSIER_NOMENCLATURES / "ocsge_revetements.csv",
}
