"""Catalogue des indicateurs : chaque indicateur déclaré une fois (``indicateurs/catalogue.csv``).

Colonnes du fichier : ``code`` (nom de colonne des tableaux), ``libelle``, ``unite``, ``famille``
(surfaces, eau, chaleur, trajectoire, finances, priorites), ``niveaux`` (operation, commune, annee,
parcelle, grille, séparés par « ; »), ``formule`` (texte, symboles Unicode), ``parametres`` (codes de
``modele.csv``, de ``priorites.csv``, colonnes de ``revetements.csv`` ou ``pe`` de ``percolation.csv``,
séparés par « ; »), ``source``, ``decimales``, ``definition``. La page Méthode est générée par
:func:`decrire_indicateur` ; les légendes et titres d'axes par :func:`titre_axe`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import pandas as pd

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from indicateurs.eau_grille import FICHIER_PERCOLATION, lire_percolation
from indicateurs.parametres import (
    COLONNES_REVETEMENTS,
    lire_parametres,
    lire_parametres_revetements,
    lire_table_parametres,
)
from indicateurs.priorites import FICHIER_PRIORITES

FICHIER_CATALOGUE = Path(__file__).resolve().parent / "catalogue.csv"
FAMILLES = {"surfaces": "Surfaces", "eau": "Eau", "chaleur": "Chaleur", "trajectoire": "Trajectoire",
            "finances": "Finances", "priorites": "Priorités"}
NIVEAUX = {"operation", "commune", "annee", "parcelle", "grille"}
SANS_UNITE = "—"
# Colonnes d'identification des tableaux (pas des indicateurs) : libellés pour légendes et en-têtes.
COLONNES_IDENTIFIANTS = {
    "operation_id": "Opération", "code_insee": "Code INSEE", "nom": "Nom", "type_site": "Type de site",
    "statut": "Statut", "validation": "Validation", "annee": "Année", "territoire": "Territoire",
    "financeur": "Financeur", "id": "Parcelle",
}
# Colonnes de revêtements.csv citables comme paramètres, avec leur libellé.
PARAMETRES_REVETEMENTS = {
    "impermeable": ("Revêtement imperméable (oui/non)", SANS_UNITE),
    "c_ruissellement": ("Coefficient de ruissellement annuel C", SANS_UNITE),
    "albedo": ("Albédo", SANS_UNITE),
    "ombre": ("Part ombragée par les arbres", SANS_UNITE),
    "kc": ("Coefficient cultural kc (FAO-56)", SANS_UNITE),
    "espace_vert": ("Compte comme espace vert (InVEST)", SANS_UNITE),
}
# Paramètres par revêtement tenus dans un fichier à part : code → (libellé, unité, fichier).
PARAMETRES_PAR_REVETEMENT_FICHIERS = {
    "pe": ("Part de la pluie qui percole (InVEST, pe)", SANS_UNITE, FICHIER_PERCOLATION),
}
COLONNES_CATALOGUE = ["code", "libelle", "unite", "famille", "niveaux", "formule", "parametres", "source",
                      "decimales", "definition"]


def _erreur(message: str, colonne: str, code: str | None = None) -> ErreurDonnees:
    return ErreurDonnees(f"Fichier catalogue.csv{f' ({code})' if code else ''} : {message}", "catalogue", colonne,
                         [code] if code else [])


@lru_cache(maxsize=None)
def _lire_catalogue_valide() -> pd.DataFrame:
    table = pd.read_csv(FICHIER_CATALOGUE, dtype=str, keep_default_na=False)
    manquantes = [c for c in COLONNES_CATALOGUE if c not in table.columns]
    if manquantes:
        raise _erreur(f"colonne « {manquantes[0]} » manquante.", manquantes[0])
    if table["code"].duplicated().any():
        code = table.loc[table["code"].duplicated(), "code"].iloc[0]
        raise _erreur("code en double.", "code", code)
    connus = set(lire_table_parametres().index) | set(lire_table_parametres(FICHIER_PRIORITES).index) \
        | set(PARAMETRES_REVETEMENTS) | set(PARAMETRES_PAR_REVETEMENT_FICHIERS)
    for _, ligne in table.iterrows():  # quelques dizaines de lignes, validées une fois
        code = ligne["code"]
        if ligne["famille"] not in FAMILLES:
            raise _erreur(f"famille « {ligne['famille']} » inconnue ({', '.join(FAMILLES)}).", "famille", code)
        if not set(ligne["niveaux"].split(";")) <= NIVEAUX:
            raise _erreur(f"niveaux « {ligne['niveaux']} » inconnus ({', '.join(sorted(NIVEAUX))}).", "niveaux", code)
        for colonne in ("libelle", "unite", "formule", "source"):
            if not ligne[colonne].strip():
                raise _erreur(f"colonne « {colonne} » vide.", colonne, code)
        inconnus = [p for p in _separer(ligne["parametres"]) if p not in connus]
        if inconnus:
            raise _erreur(f"paramètre(s) inconnu(s) {', '.join(inconnus)}.", "parametres", code)
        if not ligne["decimales"].isdigit():
            raise _erreur(f"nombre de décimales « {ligne['decimales']} » invalide.", "decimales", code)
    table["decimales"] = table["decimales"].astype(int)
    return table.set_index("code", drop=False)


def _separer(texte: str) -> list[str]:
    return [p.strip() for p in str(texte).split(";") if p.strip()]


def lire_catalogue() -> pd.DataFrame:
    """Catalogue des indicateurs (copie), indexé par code, validé (familles, niveaux, paramètres cités,
    sources). Lève :class:`ErreurDonnees` si le fichier est incohérent."""
    return _lire_catalogue_valide().copy()


def _entree(code: str) -> pd.Series:
    table = _lire_catalogue_valide()
    if code not in table.index:
        raise ErreurDonnees(f"Indicateur « {code} » absent du catalogue (indicateurs/catalogue.csv).",
                            "catalogue", "code")
    return table.loc[code]


def libelle(code: str) -> str:
    """Libellé français d'un indicateur (ou d'une colonne d'identification)."""
    if code in COLONNES_IDENTIFIANTS:
        return COLONNES_IDENTIFIANTS[code]
    return str(_entree(code)["libelle"])


def unite(code: str) -> str:
    """Unité d'un indicateur (« — » sans unité ; vide pour une colonne d'identification)."""
    if code in COLONNES_IDENTIFIANTS:
        return ""
    return str(_entree(code)["unite"])


def decimales(code: str) -> int:
    """Nombre de décimales d'affichage d'un indicateur."""
    return int(_entree(code)["decimales"]) if code not in COLONNES_IDENTIFIANTS else 0


def titre_axe(code: str) -> str:
    """Titre d'axe ou de légende : « Libellé (unité) », ou le libellé seul sans unité."""
    u = unite(code)
    return libelle(code) if u in ("", SANS_UNITE) else f"{libelle(code)} ({u})"


def formater_valeur(code: str, valeur) -> str:
    """Valeur mise en forme à la française avec les décimales et l'unité du catalogue.

    Ex. ``formater_valeur("surface_desimpermeabilisee", 12345.6)`` → « 12 346 m² ». Valeur absente → « — » ;
    booléen → « oui » / « non ».
    """
    if valeur is None or valeur is pd.NA or (isinstance(valeur, float) and math.isnan(valeur)):
        return SANS_UNITE
    if isinstance(valeur, bool) or type(valeur).__name__ == "bool_":
        return "oui" if valeur else "non"
    texte = formater_nombre(float(valeur), decimales(code))
    u = unite(code)
    return texte if u in ("", SANS_UNITE) else f"{texte} {u}"


def _decrire_parametre(code: str, modele: dict, table_modele: pd.DataFrame, table_priorites: pd.DataFrame) -> dict:
    if code in table_modele.index:
        ligne = table_modele.loc[code]
        return {"code": code, "libelle": ligne["libelle"], "unite": ligne["unite"], "valeur": float(modele[code]),
                "source": ligne["source"], "fichier": "indicateurs/parametres/modele.csv"}
    if code in table_priorites.index:
        ligne = table_priorites.loc[code]
        return {"code": code, "libelle": ligne["libelle"], "unite": ligne["unite"], "valeur": float(ligne["valeur"]),
                "source": ligne["source"], "fichier": "indicateurs/parametres/priorites.csv"}
    if code in PARAMETRES_PAR_REVETEMENT_FICHIERS:
        nom, unite_parametre, chemin = PARAMETRES_PAR_REVETEMENT_FICHIERS[code]
        sources = pd.read_csv(chemin, dtype=str).set_index("code")["source"]
        return {"code": code, "libelle": nom, "unite": unite_parametre,
                "valeur": {rev: float(v) for rev, v in lire_percolation().items()},
                "source": sources.to_dict(), "fichier": f"indicateurs/parametres/{chemin.name}"}
    revetements = lire_parametres_revetements()
    nom, unite_parametre = PARAMETRES_REVETEMENTS[code]
    valeurs = revetements[code]
    valeurs = valeurs.astype(bool) if code not in COLONNES_REVETEMENTS else valeurs.astype(float)
    return {"code": code, "libelle": nom, "unite": unite_parametre,
            "valeur": {rev: (bool(v) if code not in COLONNES_REVETEMENTS else float(v)) for rev, v in valeurs.items()},
            "source": revetements["source"].to_dict(), "fichier": "donnees/nomenclatures/revetements.csv"}


def decrire_indicateur(code: str, parametres=None) -> dict:
    """Fiche d'un indicateur pour la page Méthode.

    Renvoie ``{code, libelle, unite, titre, famille, niveaux, formule, definition, source, decimales,
    parametres}`` ; ``parametres`` est une liste de ``{code, libelle, unite, valeur, source, fichier}`` avec
    les valeurs en vigueur (``parametres`` : objet de :func:`indicateurs.parametres.lire_parametres`, défaut
    ``modele.csv``) ; pour une colonne de ``revetements.csv``, ``valeur`` et ``source`` sont des
    dictionnaires par code de revêtement.
    """
    ligne = _entree(code)
    parametres = lire_parametres() if parametres is None else parametres
    modele = parametres.en_dict() if hasattr(parametres, "en_dict") else dict(parametres)
    table_modele = lire_table_parametres()
    table_priorites = lire_table_parametres(FICHIER_PRIORITES)
    return {
        "code": code, "libelle": ligne["libelle"], "unite": ligne["unite"], "titre": titre_axe(code),
        "famille": FAMILLES[ligne["famille"]], "niveaux": _separer(ligne["niveaux"]),
        "formule": ligne["formule"], "definition": ligne["definition"], "source": ligne["source"],
        "decimales": int(ligne["decimales"]),
        "parametres": [_decrire_parametre(p, modele, table_modele, table_priorites)
                       for p in _separer(ligne["parametres"])],
    }


def codes_famille(famille: str) -> list[str]:
    """Codes des indicateurs d'une famille, dans l'ordre du catalogue."""
    table = _lire_catalogue_valide()
    return list(table.index[table["famille"].eq(famille)])
