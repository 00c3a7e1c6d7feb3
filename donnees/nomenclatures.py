"""Nomenclatures : revêtements, types de site, statuts, validation, correspondance OCS GE.

Les tables sont des fichiers CSV de ``donnees/nomenclatures/`` avec leur source.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from donnees.validation import lire_csv_valide, nombre_entre, texte_non_vide

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
# Bornes physiques des paramètres par revêtement (revetements.csv).
BORNES_REVETEMENTS = {"c_ruissellement": (0, 1), "albedo": (0, 1), "ombre": (0, 1), "kc": (0, 2),
                      "espace_vert": (0, 1)}
_CODE = pa.Check.str_matches(r"^[a-z0-9_]+$", error="code en minuscules ASCII et « _ »")
# Statut de la source d'un paramètre (revetements.csv, modele.csv, priorites.csv, percolation.csv) : une
# valeur « choix du projet » porte son raisonnement et la plage testée (colonne ``raisonnement``).
STATUT_PUBLIEE = "publiée"
STATUT_CHOIX = "choix du projet"
STATUTS_SOURCE = (STATUT_PUBLIEE, STATUT_CHOIX)


def _choix_raisonnes(table: pd.DataFrame) -> pd.Series:
    raisonnement = table["raisonnement"].astype("string").fillna("").str.strip()
    return table["statut"].ne(STATUT_CHOIX) | raisonnement.ne("")


# Colonnes communes des tables de paramètres sourcés et règle croisée (choix du projet ⇒ raisonnement).
COLONNES_STATUT = {
    "statut": pa.Column(str, pa.Check.isin(list(STATUTS_SOURCE),
                                           error="statut « publiée » ou « choix du projet » attendu")),
    "source": pa.Column(str, texte_non_vide("source")),
    "raisonnement": pa.Column(nullable=True),
}
VERIFICATION_CHOIX = pa.Check(_choix_raisonnes, error="« choix du projet » sans raisonnement : dites pourquoi "
                                                      "cette valeur et quelle plage a été testée")


def _borner(colonne: str) -> pa.Column:
    return pa.Column(checks=nombre_entre(*BORNES_REVETEMENTS[colonne]))


SCHEMA_REVETEMENTS = pa.DataFrameSchema({
    "code": pa.Column(str, _CODE, unique=True),
    "libelle": pa.Column(str, texte_non_vide("libellé")),
    "impermeable": pa.Column(str, pa.Check.isin(["oui", "non"], error="« oui » ou « non » attendu")),
    **{colonne: _borner(colonne) for colonne in BORNES_REVETEMENTS},
    **COLONNES_STATUT,
}, checks=VERIFICATION_CHOIX)
SCHEMA_TYPES_SITE = pa.DataFrameSchema({
    "code": pa.Column(str, _CODE, unique=True),
    "libelle": pa.Column(str, texte_non_vide("libellé"), unique=True),
}, strict=True)
SCHEMA_OCSGE = pa.DataFrameSchema({
    "code_cs": pa.Column(str, pa.Check.str_matches(r"^CS\d(\.\d)*$", error="code OCS GE « CSx.x… » attendu")),
    "code_us": pa.Column(str, pa.Check.str_matches(r"^(US\d(\.\d)*)?$", error="code d'usage « USx.x… » ou vide")),
    "libelle_cs": pa.Column(str, texte_non_vide("libellé")),
    "revetement": pa.Column(str, _CODE),
    "source": pa.Column(str, texte_non_vide("source")),
}, checks=pa.Check(lambda t: ~t.duplicated(["code_cs", "code_us"], keep=False),
                   error="couple (code_cs, code_us) en double"))
SCHEMA_FINANCEURS = pa.DataFrameSchema({
    "financeur": pa.Column(str, texte_non_vide("financeur"), unique=True),
    "source": pa.Column(str, texte_non_vide("source")),
}, strict=True)
# Correspondances de l'import (lues par donnees/import_operations.py) : code vide = valeur refusée, avec
# son explication.
SCHEMA_CORRESPONDANCES_IMPORT = pa.DataFrameSchema({
    "champ": pa.Column(str, pa.Check.isin(["statut", "type_site"], error="champ « statut » ou « type_site »")),
    "expression": pa.Column(str, texte_non_vide("expression")),
    "code": pa.Column(str),
    "approximatif": pa.Column(str, pa.Check.isin(["oui", "non", ""], error="« oui », « non » ou vide attendu")),
    "explication": pa.Column(str),
}, checks=[pa.Check(lambda t: ~t.duplicated(["champ", "expression"], keep=False),
                    error="couple (champ, expression) en double"),
           pa.Check(lambda t: t["code"].str.strip().ne("") | t["explication"].str.strip().ne(""),
                    error="code vide sans explication : dites pourquoi la valeur est refusée")], strict=True)
# Fréquences du résumé des notifications par courriel (issue 16) : jours entre deux résumés, 0 = jamais.
SCHEMA_FREQUENCES_COURRIEL = pa.DataFrameSchema({
    "code": pa.Column(str, _CODE, unique=True),
    "libelle": pa.Column(str, texte_non_vide("libellé"), unique=True),
    "jours": pa.Column(str, pa.Check.str_matches(r"^\d{1,3}$", error="nombre de jours entier attendu")),
}, strict=True)
# Listes de la communauté (issue 16) : code → libellé, le plus souvent avec une description.
SCHEMA_LIBELLES = pa.DataFrameSchema({
    "code": pa.Column(str, _CODE, unique=True),
    "libelle": pa.Column(str, texte_non_vide("libellé"), unique=True),
}, strict=True)
SCHEMA_LIBELLES_DECRITS = SCHEMA_LIBELLES.add_columns({"description": pa.Column(str, texte_non_vide("description"))})
SCHEMA_GENRES_RESSOURCE = SCHEMA_LIBELLES.add_columns({
    "echeance": pa.Column(str, pa.Check.isin(["oui", "non"], error="« oui » ou « non »")),
    "description": pa.Column(str, texte_non_vide("description")),
})
SCHEMAS_NOMENCLATURES = {"revetements.csv": SCHEMA_REVETEMENTS, "types_site.csv": SCHEMA_TYPES_SITE,
                         "ocsge_revetements.csv": SCHEMA_OCSGE, "financeurs.csv": SCHEMA_FINANCEURS,
                         "correspondances_import.csv": SCHEMA_CORRESPONDANCES_IMPORT,
                         "frequences_courriel.csv": SCHEMA_FREQUENCES_COURRIEL,
                         "notifications.csv": SCHEMA_LIBELLES_DECRITS,
                         "genres_evenement.csv": SCHEMA_LIBELLES_DECRITS,
                         "themes_ressource.csv": SCHEMA_LIBELLES_DECRITS,
                         "genres_ressource.csv": SCHEMA_GENRES_RESSOURCE,
                         "sujets_annuaire.csv": SCHEMA_LIBELLES}


# Lecture des tables : en texte, sauf les paramètres numériques des revêtements.
OPTIONS_LECTURE = {"revetements.csv": {"dtype": {"code": str}}}


def lire_nomenclature(nom_fichier: str, colonne_code: str | None = "code") -> pd.DataFrame:
    """Une table de ``donnees/nomenclatures/``, validée par son schéma pandera."""
    options = OPTIONS_LECTURE.get(nom_fichier, {"dtype": str, "keep_default_na": False})
    return lire_csv_valide(DOSSIER_NOMENCLATURES / nom_fichier, SCHEMAS_NOMENCLATURES[nom_fichier],
                           colonne_code=colonne_code, correction=f"Corrigez donnees/nomenclatures/{nom_fichier}.",
                           **options)


def lire_libelles(nom_fichier: str) -> dict[str, str]:
    """Une liste de ``donnees/nomenclatures/`` (colonnes ``code`` et ``libelle``, validée) : code → libellé."""
    table = lire_nomenclature(nom_fichier)
    return dict(zip(table["code"], table["libelle"]))


@lru_cache(maxsize=None)
def lire_revetements() -> pd.DataFrame:
    """Table des revêtements (code, libellé, paramètres, statut, source, raisonnement), indexée par code."""
    table = lire_nomenclature("revetements.csv")
    table["impermeable"] = table["impermeable"].eq("oui")
    return table.set_index("code")


@lru_cache(maxsize=None)
def lire_types_site() -> dict[str, str]:
    """Types de site : code → libellé."""
    table = lire_nomenclature("types_site.csv")
    return dict(zip(table["code"], table["libelle"]))


@lru_cache(maxsize=None)
def lire_correspondance_ocsge() -> pd.DataFrame:
    """Correspondance OCS GE (``code_cs``, ``code_us`` facultatif) → code de revêtement."""
    return lire_nomenclature("ocsge_revetements.csv", "code_cs")


@lru_cache(maxsize=None)
def lire_financeurs() -> list[str]:
    """Financeurs proposés par défaut à la saisie (le territoire y ajoute ceux déjà enregistrés)."""
    return lire_nomenclature("financeurs.csv", "financeur")["financeur"].tolist()


@lru_cache(maxsize=None)
def lire_frequences_courriel() -> dict[str, tuple[str, int]]:
    """Fréquences du résumé par courriel : code → (libellé, jours entre deux résumés ; 0 = jamais)."""
    table = lire_nomenclature("frequences_courriel.csv")
    return {code: (libelle, int(jours)) for code, libelle, jours in table[["code", "libelle", "jours"]].itertuples(
        index=False)}


def codes_revetement() -> list[str]:
    """Codes de revêtement connus."""
    return list(lire_revetements().index)


def codes_impermeables() -> set[str]:
    """Codes de revêtement imperméables."""
    table = lire_revetements()
    return set(table.index[table["impermeable"]])
