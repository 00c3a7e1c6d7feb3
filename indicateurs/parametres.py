"""Paramètres des modèles : valeurs par défaut du projet, surchargées par le territoire.

- ``indicateurs/parametres/modele.csv`` : code, valeur, unité, libellé, bornes, source ;
- ``donnees/nomenclatures/revetements.csv`` : paramètres par revêtement (C, albédo, ombre, kc, espace vert) ;
- ``donnees/nomenclatures/ocsge_revetements.csv`` : correspondance OCS GE → revêtements.

Chargés et validés une fois ; une valeur hors bornes lève :class:`ErreurDonnees` qui nomme le fichier et la
ligne.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from donnees.erreurs import ErreurDonnees
from donnees.nomenclatures import DOSSIER_NOMENCLATURES, lire_correspondance_ocsge, lire_revetements

FICHIER_MODELE = Path(__file__).resolve().parent / "parametres" / "modele.csv"
COLONNES_REVETEMENTS = {"c_ruissellement": (0, 1), "albedo": (0, 1), "ombre": (0, 1), "kc": (0, 2),
                        "espace_vert": (0, 1)}


def _ligne_csv(index: int) -> int:
    """Numéro de ligne dans le fichier (1 = en-tête)."""
    return int(index) + 2


@lru_cache(maxsize=None)
def lire_table_parametres(chemin: Path = FICHIER_MODELE) -> pd.DataFrame:
    """Table des paramètres de modèle (indexée par code), validée : valeur numérique dans ses bornes."""
    table = pd.read_csv(chemin, dtype={"code": str})
    for colonne in ("code", "valeur", "unite", "libelle", "source"):
        if colonne not in table.columns:
            raise ErreurDonnees(f"Fichier {chemin.name} : colonne « {colonne} » manquante.", chemin.name, colonne)
    valeurs = pd.to_numeric(table["valeur"], errors="coerce")
    for index in table.index:
        code = table.at[index, "code"]
        if pd.isna(valeurs[index]):
            raise ErreurDonnees(f"Fichier {chemin.name}, ligne {_ligne_csv(index)} ({code}) : valeur "
                                f"« {table.at[index, 'valeur']} » non numérique.", chemin.name, "valeur", [index])
        if not table.at[index, "minimum"] <= valeurs[index] <= table.at[index, "maximum"]:
            raise ErreurDonnees(f"Fichier {chemin.name}, ligne {_ligne_csv(index)} ({code}) : valeur "
                                f"{valeurs[index]} hors des bornes [{table.at[index, 'minimum']} ; "
                                f"{table.at[index, 'maximum']}].", chemin.name, "valeur", [index])
        if not str(table.at[index, "source"]).strip() or pd.isna(table.at[index, "source"]):
            raise ErreurDonnees(f"Fichier {chemin.name}, ligne {_ligne_csv(index)} ({code}) : source "
                                "manquante.", chemin.name, "source", [index])
    if table["code"].duplicated().any():
        double = table.loc[table["code"].duplicated(), "code"].iloc[0]
        raise ErreurDonnees(f"Fichier {chemin.name} : paramètre « {double} » en double.", chemin.name, "code")
    table["valeur"] = valeurs.astype(float)
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
    """Paramètres par revêtement (indexés par code), validés dans leurs bornes physiques."""
    table = lire_revetements()
    nom = "revetements.csv"
    for colonne, (minimum, maximum) in COLONNES_REVETEMENTS.items():
        valeurs = pd.to_numeric(table[colonne], errors="coerce")
        fautives = valeurs.isna() | (valeurs < minimum) | (valeurs > maximum)
        if fautives.any():
            code = fautives[fautives].index[0]
            ligne = list(table.index).index(code) + 2
            raise ErreurDonnees(f"Fichier {nom}, ligne {ligne} ({code}) : colonne « {colonne} » = "
                                f"« {table.at[code, colonne]} » hors de [{minimum} ; {maximum}].",
                                nom, colonne, [code])
    sans_source = table["source"].isna() | table["source"].astype(str).str.strip().eq("")
    if sans_source.any():
        code = sans_source[sans_source].index[0]
        raise ErreurDonnees(f"Fichier {nom} ({code}) : source manquante.", nom, "source", [code])
    return table


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
