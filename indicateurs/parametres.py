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
    COLONNES_STATUT,
    DOSSIER_NOMENCLATURES,
    STATUTS_SOURCE,
    VERIFICATION_CHOIX,
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
    **COLONNES_STATUT,
}, checks=[pa.Check(_dans_bornes, error="« valeur » hors des bornes [« minimum » ; « maximum »]"),
           VERIFICATION_CHOIX])


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


# --------------------------------------------------------------------------- sources, statuts et compromis

DOSSIER_PARAMETRES = Path(__file__).resolve().parent / "parametres"
FICHIER_COMPROMIS = DOSSIER_PARAMETRES / "compromis.csv"
FICHIER_PERCOLATION_SOURCES = DOSSIER_PARAMETRES / "percolation.csv"
EFFETS_COMPROMIS = {"chaleur": "T_air peut monter", "eau": "la rétention d'eau peut baisser"}
_CODE_REVETEMENT = pa.Check.str_matches(r"^[a-z0-9_]+$", error="code de revêtement en minuscules ASCII et « _ »")
SCHEMA_COMPROMIS = pa.DataFrameSchema({
    "avant": pa.Column(str, _CODE_REVETEMENT),
    "apres": pa.Column(str, _CODE_REVETEMENT),
    "effet": pa.Column(str, pa.Check.isin(list(EFFETS_COMPROMIS), error="effet « chaleur » ou « eau » attendu")),
    "raison": pa.Column(str, texte_non_vide("raison")),
}, checks=[pa.Check(lambda t: ~t.duplicated(["avant", "apres", "effet"], keep=False),
                    error="couple (avant, après, effet) en double"),
           pa.Check(lambda t: t["avant"].ne(t["apres"]), error="revêtements avant et après identiques")],
    strict=True)
# percolation.csv est lu par indicateurs.eau_grille (valeurs) ; ses colonnes de statut sont validées ici.
SCHEMA_STATUT_PERCOLATION = pa.DataFrameSchema({"code": pa.Column(str), **COLONNES_STATUT},
                                               checks=VERIFICATION_CHOIX)


def reduire_impermeabilisation(avant: str, apres: str, revetements: pd.DataFrame | None = None) -> bool:
    """Vrai si passer du revêtement ``avant`` au revêtement ``apres`` réduit l'imperméabilisation : imperméable
    → non imperméable, ou coefficient de ruissellement C plus faible (sans redevenir imperméable)."""
    table = lire_parametres_revetements() if revetements is None else revetements
    imp_avant, imp_apres = bool(table.at[avant, "impermeable"]), bool(table.at[apres, "impermeable"])
    if imp_avant != imp_apres:
        return imp_avant
    return float(table.at[apres, "c_ruissellement"]) < float(table.at[avant, "c_ruissellement"])


def lister_couples_reduction(revetements: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    """Tous les couples (avant, après) de la table des revêtements qui réduisent l'imperméabilisation."""
    table = lire_parametres_revetements() if revetements is None else revetements
    return [(a, b) for a in table.index for b in table.index
            if a != b and reduire_impermeabilisation(a, b, table)]


@lru_cache(maxsize=None)
def lire_compromis(chemin: Path = FICHIER_COMPROMIS) -> pd.DataFrame:
    """Couples de revêtements à compromis déclarés (``compromis.csv`` : avant, après, effet, raison), validés :
    revêtements connus, effet « chaleur » ou « eau », raison donnée. Un couple qui réduit l'imperméabilisation
    mais dégrade la chaleur ou l'eau doit y figurer (tests/test_monotonie.py) : le registre et la page Méthode
    le montrent comme un compromis, pas comme un gain."""
    table = lire_csv_valide(chemin, SCHEMA_COMPROMIS, couche=chemin.name, colonne_code="avant",
                            correction=f"Corrigez {chemin.name} (avant, apres, effet, raison).", dtype=str,
                            keep_default_na=False)
    connus = set(lire_parametres_revetements().index)
    for index, ligne in table.iterrows():
        for colonne in ("avant", "apres"):
            if ligne[colonne] not in connus:
                raise ErreurDonnees(f"Fichier {chemin.name}, ligne {index + 2} : revêtement « {ligne[colonne]} » "
                                    f"inconnu (connus : {', '.join(sorted(connus))}).", chemin.name, colonne,
                                    [index])
    return table


def chercher_compromis(avant: str, apres: str) -> pd.DataFrame:
    """Compromis déclarés pour un couple (lignes de :func:`lire_compromis`, vide si aucun)."""
    table = lire_compromis()
    return table[table["avant"].eq(avant) & table["apres"].eq(apres)]


@lru_cache(maxsize=None)
def lire_statuts_percolation(chemin: Path = FICHIER_PERCOLATION_SOURCES) -> pd.DataFrame:
    """Statut, source et raisonnement des ratios de percolation (indexés par code), validés comme ceux des
    autres tables de paramètres ; les valeurs elles-mêmes sont lues par
    :func:`indicateurs.eau_grille.lire_percolation`."""
    table = lire_csv_valide(chemin, SCHEMA_STATUT_PERCOLATION, couche=chemin.name,
                            correction=f"Corrigez {chemin.name} (statut « publiée » ou « choix du projet », "
                                       "raisonnement pour un choix du projet).", dtype={"code": str})
    return table.set_index("code")


def compter_statuts() -> pd.DataFrame:
    """Nombre de lignes « publiée » et « choix du projet » par fichier de paramètres (une ligne par fichier)."""
    from indicateurs.priorites import FICHIER_PRIORITES  # priorites importe ce module

    tables = {"donnees/nomenclatures/revetements.csv": lire_parametres_revetements(),
              "indicateurs/parametres/modele.csv": lire_table_parametres(),
              "indicateurs/parametres/percolation.csv": lire_statuts_percolation(),
              "indicateurs/parametres/priorites.csv": lire_table_parametres(FICHIER_PRIORITES),
              "indicateurs/parametres/chaleur_site.csv": lire_table_parametres(FICHIER_CHALEUR_SITE)}
    lignes = [{"fichier": nom, **{statut: int(table["statut"].eq(statut).sum()) for statut in STATUTS_SOURCE}}
              for nom, table in tables.items()]
    return pd.DataFrame(lignes)


def lister_compromis_zones(zones: pd.DataFrame) -> pd.DataFrame:
    """Compromis déclarés (:func:`lire_compromis`) que portent des zones (``revetement_avant``,
    ``revetement_apres``), une ligne par couple distinct et effet."""
    if zones is None or not len(zones):
        return lire_compromis().iloc[:0]
    couples = pd.DataFrame({"avant": zones["revetement_avant"].astype(str).to_numpy(),
                            "apres": zones["revetement_apres"].astype(str).to_numpy()}).drop_duplicates()
    return lire_compromis().merge(couples, on=["avant", "apres"], how="inner")
