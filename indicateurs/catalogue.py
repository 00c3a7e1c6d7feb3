"""Catalogue des indicateurs : chaque indicateur déclaré une fois (``indicateurs/catalogue.csv``).

Colonnes du fichier : ``code`` (nom de colonne des tableaux), ``libelle``, ``unite``, ``famille``
(surfaces, eau, chaleur, trajectoire, finances, priorites), ``niveaux`` (operation, commune, annee,
parcelle, grille, séparés par « ; »), ``formule`` (texte, symboles Unicode), ``parametres`` (codes de
``modele.csv``, de ``priorites.csv``, colonnes de ``revetements.csv`` ou ``pe`` de ``percolation.csv``,
séparés par « ; »), ``source``, ``decimales``, ``definition``, ``geometrique`` (« oui » : tiré de la
géométrie des zones, donc inconnu pour une opération à localisation approximative) et ``public`` (« non » :
réservé aux comptes qui voient coûts et aides). Validé par un schéma pandera. La page Méthode est générée par
:func:`decrire_indicateur` ; les légendes et titres d'axes par :func:`titre_axe`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.validation import lire_csv_valide, texte_non_vide
from indicateurs.eau_grille import FICHIER_PERCOLATION, SCHEMA_PERCOLATION, lire_percolation
from indicateurs.parametres import (
    COLONNES_REVETEMENTS,
    FICHIER_CHALEUR_SITE,
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
    "operation_id": "Opération", "code_insee": "Code INSEE", "commune": "Commune", "nom": "Nom",
    "type_site": "Type de site",
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
                      "decimales", "definition", "geometrique", "public"]


def construire_schema_catalogue(parametres_connus: set[str]) -> pa.DataFrameSchema:
    """Schéma pandera du catalogue ; ``parametres_connus`` : codes citables dans la colonne ``parametres``."""
    familles, niveaux = ", ".join(FAMILLES), ", ".join(sorted(NIVEAUX))
    oui_non = pa.Check.isin(["oui", "non"], error="« oui » ou « non » attendu")
    return pa.DataFrameSchema({
        "code": pa.Column(str, [texte_non_vide("code"),
                                pa.Check.str_matches(r"^[a-z0-9_]+$", error="code en minuscules ASCII et « _ »")],
                          unique=True),
        "libelle": pa.Column(str, texte_non_vide("colonne « libelle »")),
        "unite": pa.Column(str, texte_non_vide("colonne « unite »")),
        "famille": pa.Column(str, pa.Check.isin(list(FAMILLES), error=f"famille inconnue ({familles})")),
        "niveaux": pa.Column(str, pa.Check(lambda v: set(v.split(";")) <= NIVEAUX, element_wise=True,
                                           error=f"niveaux inconnus ({niveaux}, séparés par « ; »)")),
        "formule": pa.Column(str, texte_non_vide("colonne « formule »")),
        "parametres": pa.Column(str, pa.Check(lambda v: set(_separer(v)) <= parametres_connus, element_wise=True,
                                              error="paramètre(s) inconnu(s) : codes de modele.csv, de "
                                                    "priorites.csv, de chaleur_site.csv, colonnes de "
                                                    "revetements.csv ou pe")),
        "source": pa.Column(str, texte_non_vide("colonne « source »")),
        "decimales": pa.Column(str, pa.Check.str_matches(r"^\d+$", error="nombre de décimales invalide "
                                                                            "(entier positif ou nul attendu)")),
        "definition": pa.Column(str),
        "geometrique": pa.Column(str, oui_non),
        "public": pa.Column(str, oui_non),
    }, strict=True)


def lister_parametres_connus() -> set[str]:
    """Codes citables dans la colonne ``parametres`` du catalogue : modele.csv, priorites.csv, chaleur_site.csv,
    colonnes de revetements.csv et paramètres par revêtement lus ailleurs (pe)."""
    return set(lire_table_parametres().index) | set(lire_table_parametres(FICHIER_PRIORITES).index) \
        | set(lire_table_parametres(FICHIER_CHALEUR_SITE).index) | set(PARAMETRES_REVETEMENTS) \
        | set(PARAMETRES_PAR_REVETEMENT_FICHIERS)


@lru_cache(maxsize=None)
def _lire_catalogue_valide() -> pd.DataFrame:
    connus = lister_parametres_connus()
    table = lire_csv_valide(FICHIER_CATALOGUE, construire_schema_catalogue(connus), couche="catalogue",
                            correction="Corrigez indicateurs/catalogue.csv.", dtype=str, keep_default_na=False)
    table["decimales"] = table["decimales"].astype(int)
    for colonne in ("geometrique", "public"):
        table[colonne] = table[colonne].eq("oui")
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


def formater_chiffre(code: str, valeur) -> str:
    """Valeur d'une carte de chiffres (Vue d'ensemble, page Commune, rapports PDF) : décimales du catalogue et unité
    accolée par une espace insécable (« 12 346 m² », sans retour à la ligne entre les deux) ; unité « — » ou vide
    omise ; valeur absente → « — »."""
    if valeur is None or valeur is pd.NA or (isinstance(valeur, float) and math.isnan(valeur)):
        return SANS_UNITE
    symbole = unite(code) if unite(code) not in (SANS_UNITE, "") else None
    return formater_nombre(float(valeur), decimales(code), symbole)


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
    for chemin in (FICHIER_PRIORITES, FICHIER_CHALEUR_SITE):
        table = table_priorites if chemin == FICHIER_PRIORITES else lire_table_parametres(chemin)
        if code in table.index:
            ligne = table.loc[code]
            return {"code": code, "libelle": ligne["libelle"], "unite": ligne["unite"],
                    "valeur": float(ligne["valeur"]), "source": ligne["source"],
                    "fichier": f"indicateurs/parametres/{chemin.name}"}
    if code in PARAMETRES_PAR_REVETEMENT_FICHIERS:
        nom, unite_parametre, chemin = PARAMETRES_PAR_REVETEMENT_FICHIERS[code]
        sources = lire_csv_valide(chemin, SCHEMA_PERCOLATION, dtype={"code": str}).set_index("code")["source"]
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


def codes_geometriques() -> list[str]:
    """Codes des indicateurs tirés de la géométrie des zones (inconnus pour une localisation approximative)."""
    table = _lire_catalogue_valide()
    return list(table.index[table["geometrique"]])


def codes_niveau(niveau: str) -> list[str]:
    """Codes des indicateurs calculés au niveau ``niveau`` (operation, commune, annee…), dans l'ordre du catalogue."""
    table = _lire_catalogue_valide()
    return list(table.index[table["niveaux"].map(lambda v: niveau in v.split(";"))])


def codes_reserves() -> list[str]:
    """Codes des indicateurs réservés aux comptes qui voient coûts et aides (non publics), dans l'ordre."""
    table = _lire_catalogue_valide()
    return list(table.index[~table["public"]])


def codes_publics() -> list[str]:
    """Codes des indicateurs visibles du public (ni coûts ni aides, CONCEPTION §6)."""
    table = _lire_catalogue_valide()
    return list(table.index[table["public"]])
